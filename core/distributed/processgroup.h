#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sparsity {

// A process's place in a group as PyTorch's launchers describe it (torchrun, Slurm wrappers, mpirun scripts, and
// `sparsity-cli train --nproc N`): RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
struct LaunchEnvironment {
    int rank = 0;
    int worldSize = 1;
    int localRank = 0;
    std::string masterAddr;
    int masterPort = 0;

    // nullopt when WORLD_SIZE is unset or 1: the process runs alone. Throws sparsity::Error naming the variable when
    // one is set but unusable (a rank outside the world, a missing MASTER_ADDR, a port out of range).
    static std::optional<LaunchEnvironment> fromEnvironment();
    // The same five variables, for starting a process in this place (name, value).
    std::vector<std::pair<std::string, std::string>> variables() const;
};

// How long a collective waits for the other ranks before it gives up: SPARSITY_DIST_TIMEOUT seconds, 1800 by
// default (PyTorch's). It bounds a hang; a rank that dies is noticed at once (its sockets close).
std::chrono::seconds collectiveTimeout();

// PyTorch's c10d process group with the Gloo backend (CPU), rendezvous over a TCPStore served by rank 0.
// Every call is a collective: all ranks make the same calls in the same order. A failure (a rank that died, a
// timeout, a mismatch) throws sparsity::Error naming this rank, the operation (`what`) and the cause.
class ProcessGroup {
public:
    static std::shared_ptr<ProcessGroup> join(const LaunchEnvironment &environment,
                                              std::chrono::milliseconds timeout = collectiveTimeout());
    ~ProcessGroup();
    ProcessGroup(const ProcessGroup &) = delete;
    ProcessGroup &operator=(const ProcessGroup &) = delete;

    int rank() const;
    int size() const;
    bool leader() const { return rank() == 0; }

    void allreduceSum(std::vector<double> &values, const std::string &what);
    void allreduceSum(std::vector<std::int64_t> &values, const std::string &what);
    // Rank 0's bytes on every rank (the others' argument is ignored).
    std::string broadcast(const std::string &bytes, const std::string &what);
    // Every rank's bytes, in rank order.
    std::vector<std::string> allgather(const std::string &bytes, const std::string &what);
    void barrier(const std::string &what);

    // "rank R of W: " for messages.
    std::string label() const;
    // Wall time spent inside collectives since the group was joined (the benchmarks' communication share).
    double communicationSeconds() const;

    struct Impl;
    Impl &impl() { return *d; }

private:
    ProcessGroup();
    std::unique_ptr<Impl> d;
};

// A TCP port on 127.0.0.1 the kernel had free a moment ago, for a rendezvous on this machine (another program may
// take it in between; rare). Throws sparsity::Error when there is none.
int freeLoopbackPort();

// Which contiguous part of `count` items rank `rank` of `world` takes: [begin, end). The parts cover the items once
// and differ in size by at most one.
struct ShardRange {
    std::size_t begin = 0;
    std::size_t end = 0;
};
ShardRange shardOf(std::size_t count, int rank, int world);

} // namespace sparsity
