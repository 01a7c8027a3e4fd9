// BatchLoader: worker threads claim items in index order, decode + preprocess them into per-batch slots, and
// the consumer takes finished batches in order. At most `prefetchBatches` batches are in flight or waiting.
#include "data/dataset.h"
#include "error.h"
#include "io/boundedread.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace sparsity {

namespace {

constexpr std::size_t kMaxSkippedExamples = 5;

std::uint64_t itemSeed(std::uint64_t seed, std::size_t index)
{
    std::uint64_t z = seed ^ (0x9e3779b97f4a7c15ull * (std::uint64_t(index) + 1));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

} // namespace

struct BatchLoader::Impl {
    struct Slot {
        std::size_t size = 0, done = 0;
        std::vector<float> data;
        std::vector<std::uint8_t> masks;
        std::vector<char> ok;
    };

    const Dataset &dataset;
    Preprocessing preprocessing;
    std::vector<std::size_t> indices;
    Options options;
    std::size_t itemFloats = 0;
    bool withMasks = false; // segmentation datasets, for evaluation (augmentation would move the pixels)
    std::size_t maskBytes = 0;
    std::size_t batches = 0;

    std::mutex mutex;
    std::condition_variable workAvailable, batchReady;
    std::size_t nextItem = 0;  // next position in `indices` to claim
    std::size_t delivered = 0; // next batch to hand out
    bool stopping = false;
    std::string fatal; // set when a worker could not allocate; next() throws it
    std::map<std::size_t, std::unique_ptr<Slot>> slots;
    std::size_t skipped = 0;
    std::vector<std::pair<std::size_t, std::string>> examples; // (position, message), the first few by position
    std::vector<std::thread> threads;

    Impl(const Dataset &d, Preprocessing p, std::vector<std::size_t> i, Options o)
        : dataset(d), preprocessing(std::move(p)), indices(std::move(i)), options(o)
    {
    }

    std::size_t batchSize(std::size_t batch) const
    {
        return std::min(options.batchSize, indices.size() - batch * options.batchSize);
    }

    void recordSkip(std::size_t position, std::string message)
    {
        ++skipped;
        examples.emplace_back(position, std::move(message));
        std::sort(examples.begin(), examples.end());
        if (examples.size() > kMaxSkippedExamples)
            examples.pop_back();
    }

    void work()
    {
        std::vector<float> buffer;
        std::vector<std::uint8_t> maskBuffer;
        for (;;) {
            std::size_t position = 0;
            Slot *slot = nullptr;
            {
                std::unique_lock<std::mutex> lock(mutex);
                workAvailable.wait(lock, [&] {
                    return stopping || nextItem >= indices.size() ||
                           nextItem / options.batchSize < delivered + options.prefetchBatches;
                });
                if (stopping || nextItem >= indices.size())
                    return;
                position = nextItem++;
                const std::size_t batch = position / options.batchSize;
                // Inside a try: an exception escaping a worker thread would call std::terminate.
                try {
                    auto &s = slots[batch];
                    if (!s) {
                        auto fresh = std::make_unique<Slot>();
                        fresh->size = batchSize(batch);
                        fresh->data.resize(fresh->size * itemFloats);
                        if (withMasks)
                            fresh->masks.resize(fresh->size * maskBytes);
                        fresh->ok.assign(fresh->size, 0);
                        s = std::move(fresh);
                    }
                    slot = s.get();
                } catch (const std::exception &e) {
                    fatal = "cannot allocate a batch of " + std::to_string(batchSize(batch)) + " x " +
                            std::to_string(itemFloats) + " values (" + e.what() + ")";
                    stopping = true;
                    batchReady.notify_all();
                    workAvailable.notify_all();
                    return;
                }
            }
            // The slot's storage was sized under the lock and each item owns its own range.
            const std::size_t index = indices[position];
            std::string error;
            try {
                buffer.clear();
                const RawImage image = dataset.image(index);
                preprocess(image, preprocessing, buffer, options.augment, itemSeed(options.seed, index));
                if (buffer.size() != itemFloats)
                    error = "preprocessing produced " + std::to_string(buffer.size()) + " values instead of " +
                            std::to_string(itemFloats);
                else
                    std::memcpy(slot->data.data() + (position % options.batchSize) * itemFloats, buffer.data(),
                                itemFloats * sizeof(float));
                if (error.empty() && withMasks) {
                    const RawImage mask = dataset.mask(index);
                    maskBuffer.clear();
                    if (mask.width != image.width || mask.height != image.height) {
                        error = "its mask is " + std::to_string(mask.width) + "x" + std::to_string(mask.height) +
                                " pixels but the image is " + std::to_string(image.width) + "x" + std::to_string(image.height);
                    } else {
                        preprocessMask(mask, preprocessing, maskBuffer);
                        std::memcpy(slot->masks.data() + (position % options.batchSize) * maskBytes, maskBuffer.data(),
                                    maskBytes);
                    }
                }
            } catch (const std::exception &e) {
                error = e.what();
                if (error.empty())
                    error = "unknown error";
            } catch (...) {
                error = "unknown error";
            }
            if (!error.empty()) {
                std::string name;
                try {
                    name = dataset.itemName(index);
                } catch (...) {
                    name = "item " + std::to_string(index);
                }
                if (error.rfind(name, 0) != 0)
                    error = name + ": " + error;
            }
            std::lock_guard<std::mutex> lock(mutex);
            if (error.empty())
                slot->ok[position % options.batchSize] = 1;
            else
                recordSkip(position, std::move(error));
            if (++slot->done == slot->size)
                batchReady.notify_all();
        }
    }
};

BatchLoader::BatchLoader(const Dataset &dataset, Preprocessing preprocessing, std::vector<std::size_t> indices,
                         Options options)
{
    preprocessing.validate();
    for (std::size_t i = 0; i < indices.size(); ++i)
        if (indices[i] >= dataset.size())
            throw Error(dataset.path() + ": index " + std::to_string(indices[i]) + " (position " + std::to_string(i) +
                        ") is out of range for " + std::to_string(dataset.size()) + " items");
    if (options.batchSize == 0)
        throw Error("BatchLoader: the batch size must be at least 1");
    // Checked before any worker allocates: the slots of the prefetched batches must fit in memory's address range.
    checkedMultiply(checkedMultiply(checkedMultiply(options.batchSize, 4, "BatchLoader: batch size"),
                                    std::uint64_t(preprocessing.channels) * std::uint64_t(preprocessing.height) *
                                        std::uint64_t(preprocessing.width),
                                    "BatchLoader: batch size x input values"),
                    std::uint64_t(std::max<std::size_t>(options.prefetchBatches, 1)) + 1, "BatchLoader: prefetched batches");
    options.workers = std::clamp(options.workers, 1, 64);
    options.prefetchBatches = std::max<std::size_t>(options.prefetchBatches, 1);
    d = std::make_unique<Impl>(dataset, std::move(preprocessing), std::move(indices), options);
    d->itemFloats = std::size_t(d->preprocessing.channels) * std::size_t(d->preprocessing.height) *
                    std::size_t(d->preprocessing.width);
    d->withMasks = dataset.hasMasks() && !options.augment;
    d->maskBytes = std::size_t(d->preprocessing.height) * std::size_t(d->preprocessing.width);
    d->batches = (d->indices.size() + options.batchSize - 1) / options.batchSize;
    const int workers = int(std::min<std::size_t>(std::size_t(options.workers), std::max<std::size_t>(d->indices.size(), 1)));
    for (int i = 0; i < workers; ++i)
        d->threads.emplace_back([this] { d->work(); });
}

BatchLoader::~BatchLoader()
{
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        d->stopping = true;
    }
    d->workAvailable.notify_all();
    for (auto &t : d->threads)
        t.join();
}

bool BatchLoader::next(Batch &batch)
{
    for (;;) {
        std::unique_ptr<Impl::Slot> slot;
        std::size_t number = 0;
        {
            std::unique_lock<std::mutex> lock(d->mutex);
            if (d->delivered >= d->batches)
                return false;
            number = d->delivered;
            d->batchReady.wait(lock, [&] {
                const auto it = d->slots.find(number);
                return !d->fatal.empty() || (it != d->slots.end() && it->second->done == it->second->size);
            });
            if (!d->fatal.empty())
                throw Error(d->dataset.path() + ": " + d->fatal);
            slot = std::move(d->slots[number]);
            d->slots.erase(number);
            ++d->delivered;
        }
        d->workAvailable.notify_all();

        const auto &p = d->preprocessing;
        const std::size_t first = number * d->options.batchSize;
        batch.c = p.channels;
        batch.h = p.height;
        batch.w = p.width;
        batch.labels.clear();
        batch.indices.clear();
        batch.masks.clear();
        const bool complete = std::all_of(slot->ok.begin(), slot->ok.end(), [](char ok) { return ok != 0; });
        if (complete) {
            batch.data = std::move(slot->data);
        } else {
            batch.data.clear();
            for (std::size_t i = 0; i < slot->size; ++i)
                if (slot->ok[i])
                    batch.data.insert(batch.data.end(), slot->data.begin() + std::ptrdiff_t(i * d->itemFloats),
                                      slot->data.begin() + std::ptrdiff_t((i + 1) * d->itemFloats));
        }
        for (std::size_t i = 0; i < slot->size; ++i) {
            if (!slot->ok[i])
                continue;
            const std::size_t index = d->indices[first + i];
            batch.indices.push_back(index);
            batch.labels.push_back(d->dataset.label(index));
            if (d->withMasks)
                batch.masks.insert(batch.masks.end(), slot->masks.begin() + std::ptrdiff_t(i * d->maskBytes),
                                   slot->masks.begin() + std::ptrdiff_t((i + 1) * d->maskBytes));
        }
        batch.n = int(batch.indices.size());
        if (batch.n > 0)
            return true;
    }
}

std::size_t BatchLoader::batchCount() const
{
    return d->batches;
}

std::size_t BatchLoader::skippedCount() const
{
    std::lock_guard<std::mutex> lock(d->mutex);
    return d->skipped;
}

std::vector<std::string> BatchLoader::skippedExamples() const
{
    std::lock_guard<std::mutex> lock(d->mutex);
    std::vector<std::string> out;
    for (const auto &e : d->examples)
        out.push_back(e.second);
    return out;
}

} // namespace sparsity
