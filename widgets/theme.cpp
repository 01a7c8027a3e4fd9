#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace sparsity::ui {

void applyTheme(QApplication &app, bool dark)
{
    app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    if (!dark) {
        QPalette p = app.style()->standardPalette();
        p.setColor(QPalette::Highlight, QColor(0x2e, 0x7d, 0xb5));
        app.setPalette(p);
        return;
    }
    QPalette p;
    const QColor window(0x26, 0x29, 0x2e), base(0x1c, 0x1e, 0x22), text(0xdc, 0xdf, 0xe4), mid(0x3a, 0x3e, 0x45);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0x22, 0x25, 0x2a));
    p.setColor(QPalette::ToolTipBase, QColor(0x30, 0x33, 0x39));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x80, 0x86, 0x90));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, QColor(0x2f, 0x33, 0x39));
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Light, QColor(0x40, 0x44, 0x4b));
    p.setColor(QPalette::Midlight, mid);
    p.setColor(QPalette::Mid, QColor(0x6b, 0x71, 0x7a));
    p.setColor(QPalette::Dark, QColor(0x15, 0x17, 0x1a));
    p.setColor(QPalette::Shadow, Qt::black);
    p.setColor(QPalette::Highlight, QColor(0x2e, 0x7d, 0xb5));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x5a, 0xb4, 0xe6));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, QColor(0x74, 0x79, 0x82));
    app.setPalette(p);
}

} // namespace sparsity::ui
