// Decode + preprocess throughput through BatchLoader, for 1 and N workers.
//
//   bench_decode [folder] [--images N] [--workers a,b,...] [--preset imagenet|cifar|mnist]
//
// Without a folder it writes N (default 300) photo-like 500x375 JPEGs (noise over gradients, quality 90) into
// a temporary folder and removes them afterwards. A folder argument is opened with openDataset() (any format).
#include "data/dataset.h"
#include "error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

void writePhotos(const fs::path &dir, int count)
{
    fs::create_directories(dir);
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.0f, 18.0f);
    for (int i = 0; i < count; ++i) {
        cv::Mat img(375, 500, CV_8UC3);
        const float phase = float(i) * 0.37f;
        for (int y = 0; y < img.rows; ++y) {
            auto *row = img.ptr<std::uint8_t>(y);
            for (int x = 0; x < img.cols; ++x) {
                const float base[3] = {80.0f + 100.0f * float(x) / 500.0f,
                                       60.0f + 120.0f * float(y) / 375.0f,
                                       128.0f + 90.0f * std::sin(phase + float(x + y) / 40.0f)};
                for (int c = 0; c < 3; ++c)
                    row[3 * x + c] = cv::saturate_cast<std::uint8_t>(base[c] + noise(rng));
            }
        }
        char name[32];
        std::snprintf(name, sizeof name, "photo_%04d.jpg", i);
        cv::imwrite((dir / name).string(), img, {cv::IMWRITE_JPEG_QUALITY, 90});
    }
}

double seconds(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

} // namespace

int main(int argc, char **argv)
{
    std::string folder;
    int images = 300;
    std::vector<int> workers{1, 2};
    const int hardware = int(std::max(1u, std::thread::hardware_concurrency()));
    if (hardware > 2)
        workers.push_back(hardware);
    sparsity::Preprocessing preprocessing = sparsity::Preprocessing::imagenet224();
    std::string presetName = "ImageNet 224 (shorter side 256, center crop 224, RGB, mean/std)";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--images" && i + 1 < argc) {
            images = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--workers" && i + 1 < argc) {
            workers.clear();
            std::stringstream list(argv[++i]);
            for (std::string w; std::getline(list, w, ',');)
                workers.push_back(std::max(1, std::atoi(w.c_str())));
        } else if (a == "--preset" && i + 1 < argc) {
            const std::string p = argv[++i];
            if (p == "cifar")
                preprocessing = sparsity::Preprocessing::cifar32(), presetName = "CIFAR 32";
            else if (p == "mnist")
                preprocessing = sparsity::Preprocessing::mnistLike28(), presetName = "MNIST-like 28, 1 channel";
        } else if (a == "--help" || a == "-h") {
            std::cout << "usage: bench_decode [folder] [--images N] [--workers 1,2,...] [--preset imagenet|cifar|mnist]\n";
            return 0;
        } else {
            folder = a;
        }
    }

    fs::path generated;
    try {
        if (folder.empty()) {
            generated = fs::temp_directory_path() / ("sparsity-bench-decode-" + std::to_string(getpid()));
            const auto t0 = Clock::now();
            writePhotos(generated, images);
            std::cout << "Wrote " << images << " JPEG photos of 500x375 (quality 90) to " << generated.string() << " in "
                      << seconds(t0) << " s\n";
            folder = generated.string();
        }
        const auto dataset = sparsity::openDataset(folder);
        const auto indices = sparsity::firstN(*dataset, std::size_t(images));
        std::cout << dataset->describe() << "\n"
                  << "Preprocessing: " << presetName << "; " << indices.size() << " images, batch 32, prefetch 4; "
                  << hardware << " hardware threads\n\n";

        // Where the time goes, on one thread: decoding alone, then preprocessing of decoded images.
        {
            const std::size_t n = std::min<std::size_t>(indices.size(), 100);
            std::vector<sparsity::RawImage> decoded;
            auto t0 = Clock::now();
            for (std::size_t i = 0; i < n; ++i)
                decoded.push_back(dataset->image(indices[i]));
            const double decodeSeconds = seconds(t0);
            std::vector<float> out;
            t0 = Clock::now();
            for (const auto &img : decoded) {
                out.clear();
                sparsity::preprocess(img, preprocessing, out);
            }
            const double preprocessSeconds = seconds(t0);
            std::printf("single thread, %zu images: decode %.3f ms/image, preprocess %.3f ms/image\n\n", n,
                        1000.0 * decodeSeconds / double(n), 1000.0 * preprocessSeconds / double(n));
        }

        // CPU ms/image (all threads) is what the decoding costs; images/s also depends on free cores.
        std::printf("%-8s %12s %10s %14s %8s\n", "workers", "images/s", "seconds", "CPU ms/image", "skipped");
        double single = 0.0;
        for (int w : workers) {
            sparsity::BatchLoader::Options options;
            options.batchSize = 32;
            options.workers = w;
            options.prefetchBatches = 4;
            const auto t0 = Clock::now();
            const std::clock_t cpu0 = std::clock();
            sparsity::BatchLoader loader(*dataset, preprocessing, indices, options);
            sparsity::Batch batch;
            std::size_t count = 0;
            while (loader.next(batch))
                count += std::size_t(batch.n);
            const double s = seconds(t0);
            const double cpuMs = 1000.0 * double(std::clock() - cpu0) / CLOCKS_PER_SEC / double(std::max<std::size_t>(count, 1));
            const double rate = double(count) / s;
            if (w == workers.front())
                single = rate;
            std::printf("%-8d %12.1f %10.3f %14.3f %8zu", w, rate, s, cpuMs, loader.skippedCount());
            if (w != workers.front())
                std::printf("   (x%.2f vs %d worker%s)", rate / single, workers.front(), workers.front() == 1 ? "" : "s");
            std::printf("\n");
        }
    } catch (const std::exception &e) {
        std::cerr << "bench_decode: " << e.what() << "\n";
        if (!generated.empty())
            fs::remove_all(generated);
        return 1;
    }
    if (!generated.empty())
        fs::remove_all(generated);
    return 0;
}
