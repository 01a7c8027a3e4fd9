#pragma once

// What sparsity-cli prints: results on stdout, progress and messages on stderr, and the Ctrl-C flag the engine polls.
#include "texttables.h"

#include <QElapsedTimer>
#include <QString>

#include <atomic>
#include <cstdio>
#include <unistd.h>

namespace sparsity::cli {

// Set by the first Ctrl-C: captures, searches and training stop at their next batch.
extern std::atomic<bool> g_cancel;
extern "C" void onInterrupt(int);

inline void out(const QString &text) { std::fputs(text.toLocal8Bit().constData(), stdout); }
inline void err(const QString &text) { std::fputs(text.toLocal8Bit().constData(), stderr); }

// ---- Progress on stderr: a live bar on a terminal, plain lines (every 10 %) otherwise ----
class Progress {
public:
    explicit Progress(bool quiet) : quiet_(quiet), tty_(::isatty(2) == 1) { timer_.start(); }
    ~Progress() { finish(); }
    void restart(const QString &label)
    {
        finish();
        label_ = label;
        lastDecile_ = -1;
        timer_.restart();
        lastDraw_ = -1000;
    }
    void update(double fraction)
    {
        if (quiet_)
            return;
        const double elapsed = double(timer_.elapsed()) / 1000.0;
        if (tty_) {
            if (timer_.elapsed() - lastDraw_ < 100 && fraction < 1.0)
                return;
            lastDraw_ = timer_.elapsed();
            err(QStringLiteral("\r\033[K") + text::progressLine(label_, fraction, elapsed, 30));
            open_ = true;
        } else {
            const int decile = int(fraction * 10.0);
            if (decile == lastDecile_)
                return;
            lastDecile_ = decile;
            err(text::progressLine(label_, fraction, elapsed, 0) + QLatin1Char('\n'));
        }
    }
    void message(const QString &text)
    {
        if (quiet_)
            return;
        finish();
        err(text + QLatin1Char('\n'));
    }
    void finish()
    {
        if (open_)
            err(QStringLiteral("\n"));
        open_ = false;
    }

private:
    bool quiet_;
    bool tty_;
    bool open_ = false;
    QString label_;
    int lastDecile_ = -1;
    qint64 lastDraw_ = -1000;
    QElapsedTimer timer_;
};

} // namespace sparsity::cli
