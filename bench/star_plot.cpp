#include "star_plot.h"

#include "error.h"

#include <QImage>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>

#include <algorithm>
#include <cmath>

using namespace sparsity;

namespace {

const QColor kColours[] = {QColor(0x33, 0x33, 0x33), QColor(0x1f, 0x77, 0xb4), QColor(0x2c, 0xa0, 0x2c),
                           QColor(0x94, 0x67, 0xbd), QColor(0xd6, 0x27, 0x28), QColor(0xff, 0x7f, 0x0e)};

// Draws into a w x h logical area: x = activations removed vs ReLU (%), y = top-1 change vs ReLU (pp).
void draw(QPainter &p, double w, double h, const std::string &title,
          const std::vector<std::pair<std::string, std::vector<FrontPoint>>> &fronts)
{
    double xMin = 0.0, xMax = 10.0, yMin = -1.0, yMax = 0.5;
    for (const auto &[name, front] : fronts)
        for (const auto &pt : front) {
            xMin = std::min(xMin, 100.0 * (pt.removedMean - pt.removedStd));
            xMax = std::max(xMax, 100.0 * (pt.removedMean + pt.removedStd));
            yMin = std::min(yMin, pt.deltaTop1Mean - pt.deltaTop1Std);
            yMax = std::max(yMax, pt.deltaTop1Mean + pt.deltaTop1Std);
        }
    xMin = std::floor(xMin / 10.0) * 10.0;
    xMax = std::ceil(xMax / 10.0) * 10.0;
    yMin = std::floor(yMin * 2.0) / 2.0;
    yMax = std::ceil(yMax * 2.0) / 2.0;
    const QRectF area(0.11 * w, 0.10 * h, 0.62 * w, 0.76 * h);
    auto X = [&](double x) { return area.left() + (x - xMin) / (xMax - xMin) * area.width(); };
    auto Y = [&](double y) { return area.bottom() - (y - yMin) / (yMax - yMin) * area.height(); };

    p.fillRect(QRectF(0, 0, w, h), Qt::white);
    QFont font = p.font();
    font.setPixelSize(int(h * 0.028));
    p.setFont(font);
    p.setPen(QPen(QColor(0xdd, 0xdd, 0xdd), 0));
    for (double x = xMin; x <= xMax + 1e-9; x += 10.0)
        p.drawLine(QPointF(X(x), area.top()), QPointF(X(x), area.bottom()));
    for (double y = yMin; y <= yMax + 1e-9; y += 0.5)
        p.drawLine(QPointF(area.left(), Y(y)), QPointF(area.right(), Y(y)));
    p.setPen(QPen(Qt::black, 0));
    p.drawRect(area);
    for (double x = xMin; x <= xMax + 1e-9; x += 10.0)
        p.drawText(QRectF(X(x) - 30, area.bottom() + 4, 60, h * 0.04), Qt::AlignHCenter | Qt::AlignTop, QString::number(x));
    for (double y = yMin; y <= yMax + 1e-9; y += 0.5)
        p.drawText(QRectF(0, Y(y) - 10, area.left() - 6, 20), Qt::AlignRight | Qt::AlignVCenter, QString::number(y, 'f', 1));
    p.drawText(QRectF(area.left(), area.bottom() + h * 0.05, area.width(), h * 0.05), Qt::AlignHCenter,
               QStringLiteral("activations removed vs the ReLU baseline (%)"));
    p.save();
    p.translate(w * 0.025, area.center().y());
    p.rotate(-90);
    p.drawText(QRectF(-area.height() / 2, -h * 0.02, area.height(), h * 0.05), Qt::AlignHCenter,
               QStringLiteral("top-1 change vs the ReLU baseline (pp)"));
    p.restore();
    p.drawText(QRectF(0, 0, w, area.top()), Qt::AlignCenter, QString::fromStdString(title));

    for (std::size_t m = 0; m < fronts.size(); ++m) {
        const QColor colour = kColours[m % (sizeof kColours / sizeof kColours[0])];
        auto points = fronts[m].second;
        std::sort(points.begin(), points.end(), [](const FrontPoint &a, const FrontPoint &b) { return a.removedMean < b.removedMean; });
        p.setPen(QPen(colour, w * 0.003));
        for (std::size_t i = 0; i + 1 < points.size(); ++i)
            p.drawLine(QPointF(X(100 * points[i].removedMean), Y(points[i].deltaTop1Mean)),
                       QPointF(X(100 * points[i + 1].removedMean), Y(points[i + 1].deltaTop1Mean)));
        p.setPen(QPen(colour, w * 0.0015));
        for (const auto &pt : points) {
            const double x = X(100 * pt.removedMean), y = Y(pt.deltaTop1Mean);
            p.drawLine(QPointF(X(100 * (pt.removedMean - pt.removedStd)), y), QPointF(X(100 * (pt.removedMean + pt.removedStd)), y));
            p.drawLine(QPointF(x, Y(pt.deltaTop1Mean - pt.deltaTop1Std)), QPointF(x, Y(pt.deltaTop1Mean + pt.deltaTop1Std)));
            p.setBrush(colour);
            p.drawEllipse(QPointF(x, y), w * 0.006, w * 0.006);
            p.setBrush(Qt::NoBrush);
        }
        const double ly = area.top() + double(m) * h * 0.05;
        p.setPen(QPen(colour, w * 0.004));
        p.drawLine(QPointF(area.right() + w * 0.02, ly + h * 0.015), QPointF(area.right() + w * 0.06, ly + h * 0.015));
        p.setPen(QPen(Qt::black, 0));
        p.drawText(QRectF(area.right() + w * 0.07, ly, w * 0.2, h * 0.04), Qt::AlignLeft | Qt::AlignVCenter,
                   QString::fromStdString(fronts[m].first));
    }
}

} // namespace

void writeFrontPlot(const std::string &base, const std::string &title,
                    const std::vector<std::pair<std::string, std::vector<FrontPoint>>> &fronts)
{
    QImage image(1200, 750, QImage::Format_RGB32);
    {
        QPainter p(&image);
        p.setRenderHint(QPainter::Antialiasing);
        draw(p, image.width(), image.height(), title, fronts);
    }
    QSaveFile png(QString::fromStdString(base + ".png"));
    if (!png.open(QIODevice::WriteOnly) || !image.save(&png, "PNG") || !png.commit())
        throw Error(base + ".png: cannot write the plot");

    QSaveFile pdfFile(QString::fromStdString(base + ".pdf"));
    if (!pdfFile.open(QIODevice::WriteOnly))
        throw Error(base + ".pdf: cannot write the plot");
    {
        QPdfWriter pdf(&pdfFile);
        pdf.setPageSize(QPageSize(QSizeF(240, 150), QPageSize::Millimeter));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        pdf.setResolution(150);
        QPainter p(&pdf);
        draw(p, pdf.width(), pdf.height(), title, fronts);
    }
    if (!pdfFile.commit())
        throw Error(base + ".pdf: cannot save the plot");
}
