// ProcessGroupGloo.hpp declares nothing without USE_C10D_GLOO (the torch target defines it); only this file sees the
// Gloo headers.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include "distributed/processgroup_p.h"

#include "error.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace sparsity {

namespace {

std::optional<std::string> variable(const char *name)
{
    const char *value = std::getenv(name);
    if (!value || !*value)
        return std::nullopt;
    return std::string(value);
}

int integerVariable(const char *name, int fallback, int low, int high)
{
    const auto text = variable(name);
    if (!text)
        return fallback;
    char *end = nullptr;
    const long value = std::strtol(text->c_str(), &end, 10);
    if (!end || *end || value < low || value > high)
        throw Error(std::string(name) + "=" + *text + ": expected a whole number from " + std::to_string(low) + " to " +
                    std::to_string(high));
    return int(value);
}

// c10's messages carry a C++ backtrace after the first line.
std::string firstLine(const std::exception &e)
{
    std::string text = e.what();
    text.resize(std::min(text.find('\n'), text.size()));
    return text;
}

bool loopback(const std::string &address)
{
    return address == "127.0.0.1" || address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

} // namespace

std::optional<LaunchEnvironment> LaunchEnvironment::fromEnvironment()
{
    const int world = integerVariable("WORLD_SIZE", 1, 1, 1 << 20);
    if (world == 1)
        return std::nullopt;
    LaunchEnvironment e;
    e.worldSize = world;
    if (!variable("RANK"))
        throw Error("WORLD_SIZE=" + std::to_string(world) + " but RANK is not set: every process of a group needs its rank");
    e.rank = integerVariable("RANK", 0, 0, world - 1);
    e.localRank = integerVariable("LOCAL_RANK", 0, 0, 1 << 20);
    const auto address = variable("MASTER_ADDR");
    if (!address)
        throw Error("WORLD_SIZE=" + std::to_string(world) + " but MASTER_ADDR is not set: the address of rank 0's rendezvous");
    e.masterAddr = *address;
    if (!variable("MASTER_PORT"))
        throw Error("WORLD_SIZE=" + std::to_string(world) + " but MASTER_PORT is not set: the port of rank 0's rendezvous");
    e.masterPort = integerVariable("MASTER_PORT", 0, 1, 65535);
    return e;
}

std::vector<std::pair<std::string, std::string>> LaunchEnvironment::variables() const
{
    return {{"RANK", std::to_string(rank)},
            {"LOCAL_RANK", std::to_string(localRank)},
            {"WORLD_SIZE", std::to_string(worldSize)},
            {"MASTER_ADDR", masterAddr},
            {"MASTER_PORT", std::to_string(masterPort)}};
}

std::chrono::seconds collectiveTimeout()
{
    return std::chrono::seconds(integerVariable("SPARSITY_DIST_TIMEOUT", 1800, 1, 7 * 24 * 3600));
}

int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0)
        port = ntohs(address.sin_port);
    if (fd >= 0)
        ::close(fd);
    if (port == 0)
        throw Error("no free TCP port on 127.0.0.1 for the rendezvous");
    return port;
}

ShardRange shardOf(std::size_t count, int rank, int world)
{
    const std::size_t w = std::size_t(std::max(1, world));
    const std::size_t r = std::size_t(std::clamp(rank, 0, int(w) - 1));
    const std::size_t base = count / w, extra = count % w;
    const std::size_t begin = r * base + std::min(r, extra);
    return {begin, begin + base + (r < extra ? 1 : 0)};
}

struct ProcessGroup::Impl {
    int rank = 0;
    int size = 1;
    std::chrono::milliseconds timeout{0};
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
    double seconds = 0.0;

    std::string label() const { return "rank " + std::to_string(rank) + " of " + std::to_string(size); }

    // Runs one collective and waits for it; c10d's and Gloo's exceptions become an Error that says who failed doing what.
    template <typename Start>
    void run(const std::string &what, Start start)
    {
        const auto begun = std::chrono::steady_clock::now();
        try {
            auto work = start();
            work->wait();
        } catch (const std::exception &e) {
            throw Error(label() + ": " + what + " failed: " + firstLine(e) +
                        " (another rank stopped, hung for more than " + std::to_string(timeout.count() / 1000) +
                        " s (SPARSITY_DIST_TIMEOUT) or made different calls; see its own output)");
        }
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
    }
};

ProcessGroup::ProcessGroup() : d(std::make_unique<Impl>()) {}
ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::join(const LaunchEnvironment &e, std::chrono::milliseconds timeout)
{
    std::shared_ptr<ProcessGroup> result(new ProcessGroup());
    Impl &d = *result->d;
    d.rank = e.rank;
    d.size = e.worldSize;
    d.timeout = timeout;
    const std::string where = e.masterAddr + ":" + std::to_string(e.masterPort);
    try {
        c10d::TCPStoreOptions options;
        options.port = std::uint16_t(e.masterPort);
        options.isServer = e.rank == 0;
        options.numWorkers = std::size_t(e.worldSize);
        options.waitWorkers = true;
        options.timeout = timeout;
        d.store = c10::make_intrusive<c10d::TCPStore>(e.masterAddr, options);
    } catch (const std::exception &ex) {
        throw Error(d.label() + ": cannot " + std::string(e.rank == 0 ? "serve" : "reach") + " the rendezvous at " + where +
                    " (MASTER_ADDR:MASTER_PORT): " + firstLine(ex));
    }
    try {
        auto options = c10d::ProcessGroupGloo::Options::create(timeout);
        if (const auto interface = variable("GLOO_SOCKET_IFNAME"))
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface->substr(0, interface->find(','))));
        else if (loopback(e.masterAddr))
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else
            options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        options->threads = 2;
        d.group = c10::make_intrusive<c10d::ProcessGroupGloo>(d.store, e.rank, e.worldSize, options);
    } catch (const std::exception &ex) {
        throw Error(d.label() + ": cannot connect to the other ranks (rendezvous " + where + "): " + firstLine(ex));
    }
    result->barrier("joining the group");
    return result;
}

int ProcessGroup::rank() const { return d->rank; }
int ProcessGroup::size() const { return d->size; }
std::string ProcessGroup::label() const { return d->label(); }
double ProcessGroup::communicationSeconds() const { return d->seconds; }

void ProcessGroup::allreduceSum(std::vector<double> &values, const std::string &what)
{
    if (values.empty())
        return;
    std::vector<at::Tensor> tensors{torch::from_blob(values.data(), {std::int64_t(values.size())}, torch::kFloat64)};
    d->run(what, [&] { return d->group->allreduce(tensors); });
}

void ProcessGroup::allreduceSum(std::vector<std::int64_t> &values, const std::string &what)
{
    if (values.empty())
        return;
    std::vector<at::Tensor> tensors{torch::from_blob(values.data(), {std::int64_t(values.size())}, torch::kInt64)};
    d->run(what, [&] { return d->group->allreduce(tensors); });
}

std::string ProcessGroup::broadcast(const std::string &bytes, const std::string &what)
{
    std::vector<at::Tensor> size{torch::tensor({std::int64_t(d->rank == 0 ? bytes.size() : 0)}, torch::kInt64)};
    d->run(what, [&] { return d->group->broadcast(size); });
    const std::int64_t n = size[0].item<std::int64_t>();
    std::string result = d->rank == 0 ? bytes : std::string(std::size_t(n), '\0');
    if (n > 0) {
        std::vector<at::Tensor> data{torch::from_blob(result.data(), {n}, torch::kUInt8)};
        d->run(what, [&] { return d->group->broadcast(data); });
    }
    return result;
}

std::vector<std::string> ProcessGroup::allgather(const std::string &bytes, const std::string &what)
{
    std::vector<at::Tensor> mySize{torch::tensor({std::int64_t(bytes.size())}, torch::kInt64)};
    std::vector<std::vector<at::Tensor>> sizes(1);
    for (int r = 0; r < d->size; ++r)
        sizes[0].push_back(torch::zeros({1}, torch::kInt64));
    d->run(what, [&] { return d->group->allgather(sizes, mySize); });
    std::int64_t longest = 0;
    for (const auto &s : sizes[0])
        longest = std::max(longest, s.item<std::int64_t>());
    std::vector<std::string> result(std::size_t(d->size));
    if (longest == 0)
        return result;
    auto padded = torch::zeros({longest}, torch::kUInt8);
    std::memcpy(padded.data_ptr<std::uint8_t>(), bytes.data(), bytes.size());
    std::vector<at::Tensor> mine{padded};
    std::vector<std::vector<at::Tensor>> all(1);
    for (int r = 0; r < d->size; ++r)
        all[0].push_back(torch::zeros({longest}, torch::kUInt8));
    d->run(what, [&] { return d->group->allgather(all, mine); });
    for (int r = 0; r < d->size; ++r)
        result[std::size_t(r)].assign(reinterpret_cast<const char *>(all[0][std::size_t(r)].data_ptr<std::uint8_t>()),
                                      std::size_t(sizes[0][std::size_t(r)].item<std::int64_t>()));
    return result;
}

void ProcessGroup::barrier(const std::string &what)
{
    // A one-value allreduce: Gloo's barrier has no timeout of its own in 1.13, the allreduce has the group's.
    std::vector<std::int64_t> token{1};
    allreduceSum(token, what);
}

namespace detail {

void averageTensors(ProcessGroup &group, const std::vector<at::Tensor> &tensors, const std::string &what, std::size_t bucketBytes)
{
    auto &d = group.impl();
    torch::NoGradGuard noGrad;
    std::size_t first = 0;
    while (first < tensors.size()) {
        // A bucket: consecutive tensors of one dtype up to bucketBytes (at least one tensor).
        std::size_t last = first + 1, bytes = std::size_t(tensors[first].nbytes());
        while (last < tensors.size() && tensors[last].scalar_type() == tensors[first].scalar_type() &&
               bytes + std::size_t(tensors[last].nbytes()) <= bucketBytes)
            bytes += std::size_t(tensors[last++].nbytes());
        std::vector<at::Tensor> flat;
        for (std::size_t i = first; i < last; ++i)
            flat.push_back(tensors[i].reshape({-1}));
        std::vector<at::Tensor> bucket{torch::cat(flat)};
        d.run(what, [&] { return d.group->allreduce(bucket); });
        bucket[0].div_(double(group.size()));
        std::int64_t offset = 0;
        for (std::size_t i = first; i < last; ++i) {
            const std::int64_t n = tensors[i].numel();
            tensors[i].copy_(bucket[0].narrow(0, offset, n).view(tensors[i].sizes()));
            offset += n;
        }
        first = last;
    }
}

void allreduceSumInPlace(ProcessGroup &group, at::Tensor &tensor, const std::string &what)
{
    auto &d = group.impl();
    std::vector<at::Tensor> one{tensor};
    d.run(what, [&] { return d.group->allreduce(one); });
}

void broadcastTensors(ProcessGroup &group, const std::vector<at::Tensor> &tensors, const std::string &what)
{
    auto &d = group.impl();
    torch::NoGradGuard noGrad;
    for (const auto &t : tensors) {
        std::vector<at::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
        d.run(what, [&] { return d.group->broadcast(one); });
        if (!t.is_contiguous())
            t.copy_(one[0]);
    }
}

} // namespace detail

} // namespace sparsity
