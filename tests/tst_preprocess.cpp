// Preprocessing numerics against hand-computed values.
#include "data/dataset.h"
#include "error.h"

#include <QTest>

#include <cmath>
#include <set>

using namespace sparsity;

namespace {

RawImage gray(int w, int h, std::vector<std::uint8_t> pixels)
{
    return RawImage{w, h, 1, std::move(pixels)};
}

RawImage rgb(int w, int h, std::vector<std::uint8_t> pixels)
{
    return RawImage{w, h, 3, std::move(pixels)};
}

Preprocessing plain(int channels, int w, int h)
{
    Preprocessing p;
    p.channels = channels;
    p.width = w;
    p.height = h;
    p.resize = Preprocessing::Resize::None;
    p.mean = {0.0f};
    p.std = {1.0f};
    return p;
}

// Output values back in 0..255 (mean 0, std 1).
std::vector<int> bytes(const std::vector<float> &v)
{
    std::vector<int> out;
    for (float f : v)
        out.push_back(int(std::lround(f * 255.0f)));
    return out;
}

QString str(const std::vector<int> &v)
{
    QString s;
    for (int x : v)
        s += QString::number(x) + QLatin1Char(' ');
    return s;
}

} // namespace

class TestPreprocess : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void presets()
    {
        const auto in = Preprocessing::imagenet224();
        QCOMPARE(in.channels, 3);
        QCOMPARE(in.height, 224);
        QCOMPARE(in.resizeTo, 256);
        QVERIFY(in.centerCrop);
        QCOMPARE(in.mean[2], 0.406f);
        QCOMPARE(in.std[0], 0.229f);
        const auto c = Preprocessing::cifar32();
        QCOMPARE(c.width, 32);
        QCOMPARE(c.mean.size(), std::size_t(3));
        const auto m = Preprocessing::mnistLike28();
        QCOMPARE(m.channels, 1);
        QCOMPARE(m.mean[0], 0.2860f);
        QCOMPARE(m.std[0], 0.3530f);
        QVERIFY(in != c);
        QVERIFY(m == Preprocessing::mnistLike28());
        for (const auto &p : {in, c, m})
            p.validate();
    }

    void normalisation_data()
    {
        QTest::addColumn<int>("value");
        QTest::addColumn<float>("expected");
        // (v / 255 - 0.5) / 0.25
        QTest::newRow("0") << 0 << -2.0f;
        QTest::newRow("51") << 51 << -1.2f;
        QTest::newRow("128") << 128 << 0.0078431f;
        QTest::newRow("255") << 255 << 2.0f;
    }
    void normalisation()
    {
        QFETCH(int, value);
        QFETCH(float, expected);
        Preprocessing p = plain(1, 1, 1);
        p.mean = {0.5f};
        p.std = {0.25f};
        std::vector<float> out{99.0f}; // appended, not overwritten
        preprocess(gray(1, 1, {std::uint8_t(value)}), p, out);
        QCOMPARE(out.size(), std::size_t(2));
        QCOMPARE(out[0], 99.0f);
        QVERIFY2(std::abs(out[1] - expected) < 1e-5f, qPrintable(QString::number(double(out[1]))));
    }

    void rgbIsPlanarWithPerChannelStatistics()
    {
        Preprocessing p = plain(3, 2, 1);
        p.mean = {0.0f, 0.1f, 0.2f};
        p.std = {1.0f, 0.5f, 0.25f};
        std::vector<float> out;
        preprocess(rgb(2, 1, {10, 20, 30, 40, 50, 60}), p, out);
        const std::vector<float> expected{10 / 255.0f,           40 / 255.0f,           (20 / 255.0f - 0.1f) / 0.5f,
                                          (50 / 255.0f - 0.1f) / 0.5f, (30 / 255.0f - 0.2f) / 0.25f,
                                          (60 / 255.0f - 0.2f) / 0.25f};
        QCOMPARE(out.size(), expected.size());
        for (std::size_t i = 0; i < out.size(); ++i)
            QVERIFY2(std::abs(out[i] - expected[i]) < 1e-6f, qPrintable(QString::number(i)));
    }

    void grayscaleConversion_data()
    {
        QTest::addColumn<int>("r");
        QTest::addColumn<int>("g");
        QTest::addColumn<int>("b");
        QTest::addColumn<int>("expected");
        // PIL convert("L"): R * 299/1000 + G * 587/1000 + B * 114/1000, rounded.
        QTest::newRow("red") << 255 << 0 << 0 << 76;
        QTest::newRow("green") << 0 << 255 << 0 << 150;
        QTest::newRow("blue") << 0 << 0 << 255 << 29;
        QTest::newRow("white") << 255 << 255 << 255 << 255;
        QTest::newRow("mixed") << 100 << 150 << 200 << 141; // 29.9 + 88.05 + 22.8 = 140.75
    }
    void grayscaleConversion()
    {
        QFETCH(int, r);
        QFETCH(int, g);
        QFETCH(int, b);
        QFETCH(int, expected);
        std::vector<float> out;
        preprocess(rgb(1, 1, {std::uint8_t(r), std::uint8_t(g), std::uint8_t(b)}), plain(1, 1, 1), out);
        QCOMPARE(bytes(out), std::vector<int>{expected});
    }

    void grayToRgbReplicates()
    {
        std::vector<float> out;
        preprocess(gray(2, 1, {7, 200}), plain(3, 2, 1), out);
        QCOMPARE(bytes(out), (std::vector<int>{7, 200, 7, 200, 7, 200}));
    }

    void centerCrop_data()
    {
        QTest::addColumn<int>("w");
        QTest::addColumn<int>("h");
        QTest::addColumn<int>("cropW");
        QTest::addColumn<int>("cropH");
        QTest::addColumn<std::vector<int>>("expected");
        // Pixel value = 10 * y + x.
        // 5x4 -> 3x2: top = round(1) = 1, left = round(1) = 1.
        QTest::newRow("odd margins") << 5 << 4 << 3 << 2 << std::vector<int>{11, 12, 13, 21, 22, 23};
        // 4x3 -> 1x2: left = round(1.5) = 2, top = round(0.5) = 0 (Python rounds halves to even).
        QTest::newRow("half margins") << 4 << 3 << 1 << 2 << std::vector<int>{2, 12};
        // 2x2 -> 4x3: padded left 1, right 1, top 0, bottom 1 (torchvision's center_crop padding).
        QTest::newRow("padding") << 2 << 2 << 4 << 3 << std::vector<int>{0, 0, 1, 0, 0, 10, 11, 0, 0, 0, 0, 0};
    }
    void centerCrop()
    {
        QFETCH(int, w);
        QFETCH(int, h);
        QFETCH(int, cropW);
        QFETCH(int, cropH);
        QFETCH(std::vector<int>, expected);
        std::vector<std::uint8_t> pixels;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                pixels.push_back(std::uint8_t(10 * y + x));
        Preprocessing p = plain(1, cropW, cropH);
        p.centerCrop = true;
        std::vector<float> out;
        preprocess(gray(w, h, pixels), p, out);
        QVERIFY2(bytes(out) == expected, qPrintable(str(bytes(out))));
    }

    void exactResizeAveragesWhenShrinking()
    {
        // 4x4 -> 2x2 by area: each output is the mean of a 2x2 block.
        const std::vector<std::uint8_t> pixels{0, 4, 100, 100, 8, 12, 100, 100, 50, 50, 200, 0, 50, 50, 0, 200};
        Preprocessing p = plain(1, 2, 2);
        p.resize = Preprocessing::Resize::Exact;
        std::vector<float> out;
        preprocess(gray(4, 4, pixels), p, out);
        QCOMPARE(bytes(out), (std::vector<int>{6, 100, 50, 100}));
    }

    void shorterSideThenCrop()
    {
        // 30x20, left half black, right half white. Shorter side 10 -> 15x10 (each output column averages two),
        // center crop 10x10 from left = round(2.5) = 2: columns 2..11 of the resized image.
        std::vector<std::uint8_t> pixels;
        for (int y = 0; y < 20; ++y)
            for (int x = 0; x < 30; ++x)
                pixels.push_back(x < 15 ? 0 : 255);
        Preprocessing p = plain(1, 10, 10);
        p.resize = Preprocessing::Resize::ShorterSide;
        p.resizeTo = 10;
        p.centerCrop = true;
        std::vector<float> out;
        preprocess(gray(30, 20, pixels), p, out);
        const std::vector<int> row{0, 0, 0, 0, 0, 128, 255, 255, 255, 255};
        const auto b = bytes(out);
        for (int y = 0; y < 10; ++y)
            QVERIFY2(std::vector<int>(b.begin() + y * 10, b.begin() + y * 10 + 10) == row, qPrintable(str(b)));
    }

    void imagenetPresetOnAPhotoSize()
    {
        RawImage img = rgb(500, 375, std::vector<std::uint8_t>(500 * 375 * 3, 124));
        std::vector<float> out;
        preprocess(img, Preprocessing::imagenet224(), out);
        QCOMPARE(out.size(), std::size_t(3 * 224 * 224));
        // A uniform image stays uniform: (124 / 255 - mean) / std per channel.
        QVERIFY(std::abs(out[0] - (124 / 255.0f - 0.485f) / 0.229f) < 1e-5f);
        QVERIFY(std::abs(out[224 * 224 * 2 + 5000] - (124 / 255.0f - 0.406f) / 0.225f) < 1e-5f);
    }

    void sizeMismatchWithoutResizeIsAnError()
    {
        std::vector<float> out;
        try {
            preprocess(gray(3, 3, std::vector<std::uint8_t>(9)), plain(1, 2, 2), out);
            QFAIL("no error");
        } catch (const Error &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("image is 3x3 after resizing, the model input is 2x2")),
                     e.what());
        }
        QVERIFY(out.empty());
    }

    void invalidSettings_data()
    {
        QTest::addColumn<int>("which");
        QTest::addColumn<QString>("expected");
        QTest::newRow("channels") << 0 << QStringLiteral("channels must be 1 (grayscale) or 3 (RGB), not 2");
        QTest::newRow("mean count") << 1 << QStringLiteral("2 mean values for 3 channels");
        QTest::newRow("zero std") << 2 << QStringLiteral("std values must be positive");
        QTest::newRow("size") << 3 << QStringLiteral("input size 0x28");
    }
    void invalidSettings()
    {
        QFETCH(int, which);
        QFETCH(QString, expected);
        Preprocessing p = Preprocessing::cifar32();
        if (which == 0)
            p.channels = 2;
        if (which == 1)
            p.mean = {0.1f, 0.2f};
        if (which == 2)
            p.std = {0.0f};
        if (which == 3)
            p.height = 0, p.width = 28;
        std::vector<float> out;
        try {
            preprocess(rgb(32, 32, std::vector<std::uint8_t>(32 * 32 * 3)), p, out);
            QFAIL("no error");
        } catch (const Error &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(expected), e.what());
        }
    }

    void augmentationIsAShiftAndFlip()
    {
        // 4x3 image, values 1 + 10 * y + x (no zeros): the output must be the input shifted by (dy, dx) in
        // [-2, 2] with zero fill, possibly mirrored, and identical for the same seed.
        const int w = 4, h = 3, pad = 2;
        std::vector<std::uint8_t> pixels;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                pixels.push_back(std::uint8_t(1 + 10 * y + x));
        Preprocessing p = plain(1, w, h);
        p.randomCropPadding = pad;
        p.horizontalFlip = true;
        std::set<std::pair<int, int>> shifts;
        int flips = 0;
        for (std::uint64_t seed = 0; seed < 200; ++seed) {
            std::vector<float> a, b;
            preprocess(gray(w, h, pixels), p, a, true, seed);
            preprocess(gray(w, h, pixels), p, b, true, seed);
            QVERIFY(a == b);
            const auto out = bytes(a);
            bool matched = false;
            for (int flip = 0; flip < 2 && !matched; ++flip)
                for (int dy = -pad; dy <= pad && !matched; ++dy)
                    for (int dx = -pad; dx <= pad && !matched; ++dx) {
                        bool same = true;
                        for (int y = 0; y < h && same; ++y)
                            for (int x = 0; x < w && same; ++x) {
                                const int sx = (flip ? w - 1 - x : x) + dx, sy = y + dy;
                                const int v = (sx >= 0 && sx < w && sy >= 0 && sy < h) ? 1 + 10 * sy + sx : 0;
                                same = out[std::size_t(y * w + x)] == v;
                            }
                        if (same) {
                            matched = true;
                            shifts.insert({dy, dx});
                            flips += flip;
                        }
                    }
            QVERIFY2(matched, qPrintable(str(out)));
        }
        QCOMPARE(shifts.size(), std::size_t(25)); // every offset occurs
        QVERIFY(flips > 60 && flips < 140);
        // Without `augment` the settings are ignored.
        std::vector<float> off;
        preprocess(gray(w, h, pixels), p, off, false, 5);
        QCOMPARE(bytes(off), std::vector<int>(pixels.begin(), pixels.end()));
    }
};

QTEST_APPLESS_MAIN(TestPreprocess)
#include "tst_preprocess.moc"
