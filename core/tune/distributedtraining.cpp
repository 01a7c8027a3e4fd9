#include "tune/distributedtraining_p.h"

#include "distributed/processgroup_p.h"
#include "error.h"

#include <algorithm>
#include <cstring>

namespace sparsity::detail {

namespace {

void appendFloats(std::string &bytes, const std::vector<float> &values)
{
    const std::uint64_t n = values.size();
    bytes.append(reinterpret_cast<const char *>(&n), sizeof n);
    bytes.append(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(float));
}

std::vector<float> takeFloats(const std::string &bytes, std::size_t &at)
{
    std::uint64_t n = 0;
    if (at + sizeof n > bytes.size())
        throw Error("distributed training: rank 0 sent damaged decisions");
    std::memcpy(&n, bytes.data() + at, sizeof n);
    at += sizeof n;
    if (n > (bytes.size() - at) / sizeof(float))
        throw Error("distributed training: rank 0 sent damaged decisions");
    std::vector<float> values(n);
    std::memcpy(values.data(), bytes.data() + at, n * sizeof(float));
    at += n * sizeof(float);
    return values;
}

void appendLists(std::string &bytes, const std::vector<std::vector<float>> &lists)
{
    const std::uint64_t n = lists.size();
    bytes.append(reinterpret_cast<const char *>(&n), sizeof n);
    for (const auto &l : lists)
        appendFloats(bytes, l);
}

std::vector<std::vector<float>> takeLists(const std::string &bytes, std::size_t &at)
{
    std::uint64_t n = 0;
    // Each list takes at least its own 8-byte count.
    if (at + sizeof n > bytes.size())
        throw Error("distributed training: rank 0 sent damaged decisions");
    std::memcpy(&n, bytes.data() + at, sizeof n);
    at += sizeof n;
    if (n > (bytes.size() - at) / sizeof n)
        throw Error("distributed training: rank 0 sent damaged decisions");
    std::vector<std::vector<float>> lists(n);
    for (auto &l : lists)
        l = takeFloats(bytes, at);
    return lists;
}

} // namespace

void checkDistributable(const Recipe &recipe, const ProcessGroup &group)
{
    if (recipe.batchSize % std::size_t(group.size()) != 0)
        throw Error(group.label() + ": the recipe's batch_size " + std::to_string(recipe.batchSize) +
                    " does not divide into " + std::to_string(group.size()) +
                    " equal parts; choose a multiple of the number of processes");
    if (recipe.learnThresholds)
        throw Error(group.label() + ": the recipe learns its thresholds (finetune.learn_thresholds), which runs in one "
                    "process only; train without a process group or with fixed thresholds");
}

void broadcastWeights(ProcessGroup &group, torch::jit::Module &module)
{
    std::vector<at::Tensor> tensors;
    for (const auto &p : module.parameters(true))
        tensors.push_back(p);
    for (const auto &b : module.buffers(true))
        tensors.push_back(b);
    broadcastTensors(group, tensors, "sending rank 0's weights");
}

void broadcastDecisions(ProcessGroup &group, Checkpoint &c, const std::string &what)
{
    std::string bytes;
    if (group.leader()) {
        appendFloats(bytes, c.thresholds);
        appendLists(bytes, c.channelThresholds);
        appendFloats(bytes, c.bands);
        appendLists(bytes, c.channelBands);
    }
    bytes = group.broadcast(bytes, what);
    if (group.leader())
        return;
    std::size_t at = 0;
    c.thresholds = takeFloats(bytes, at);
    c.channelThresholds = takeLists(bytes, at);
    c.bands = takeFloats(bytes, at);
    c.channelBands = takeLists(bytes, at);
}

std::vector<std::size_t> rankOrder(const std::vector<std::size_t> &order, std::size_t batchSize, int rank, int world)
{
    std::vector<std::size_t> mine;
    mine.reserve(order.size() / std::size_t(std::max(1, world)) + batchSize);
    for (std::size_t first = 0; first < order.size(); first += batchSize) {
        const std::size_t n = std::min(batchSize, order.size() - first);
        const ShardRange part = shardOf(n, rank, world);
        mine.insert(mine.end(), order.begin() + std::ptrdiff_t(first + part.begin), order.begin() + std::ptrdiff_t(first + part.end));
    }
    return mine;
}

std::size_t globalBatchImages(std::size_t trainCount, std::size_t batchSize, int step)
{
    const std::size_t first = std::size_t(step) * batchSize;
    return first >= trainCount ? 0 : std::min(batchSize, trainCount - first);
}

at::Tensor globalHoyer(ProcessGroup &group, const std::vector<ProbeState::HoyerParts> &parts, double *value)
{
    std::vector<double> sums;
    for (const auto &p : parts) {
        sums.push_back(p.l1.item<double>());
        sums.push_back(p.squares.item<double>());
        sums.push_back(p.elements);
    }
    group.allreduceSum(sums, "summing the Hoyer-square terms");
    at::Tensor surrogate;
    double total = 0.0;
    const double ranks = double(group.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const double l1 = sums[3 * i], squares = sums[3 * i + 1] + 1e-12, elements = sums[3 * i + 2];
        const double w = parts[i].weight;
        total += w * l1 * l1 / squares / elements;
        // d(L1^2 / S) = 2 L1 / S dL1 - L1^2 / S^2 dS, with this rank's l1 and squares as the varying parts; times the
        // group size because the gradients are averaged over the ranks afterwards.
        auto term = (parts[i].l1 * (2.0 * l1 / squares) - parts[i].squares * (l1 * l1 / (squares * squares))) *
                    (w * ranks / elements);
        surrogate = surrogate.defined() ? surrogate + term : term;
    }
    if (value)
        *value = total;
    return surrogate;
}

namespace {

// Sum over the ranks whose gradient is the sum over the ranks of the gradients (torch.distributed.nn's all_reduce).
struct DifferentiableAllreduce : torch::autograd::Function<DifferentiableAllreduce> {
    static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &local, std::int64_t group)
    {
        ctx->saved_data["group"] = group;
        auto sum = local.clone();
        allreduceSumInPlace(*reinterpret_cast<ProcessGroup *>(group), sum, "synchronising BatchNorm statistics");
        return sum;
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext *ctx, torch::autograd::tensor_list grads)
    {
        auto *group = reinterpret_cast<ProcessGroup *>(ctx->saved_data["group"].toInt());
        auto sum = grads[0].contiguous().clone();
        allreduceSumInPlace(*group, sum, "synchronising BatchNorm gradients");
        return {sum, at::Tensor()};
    }
};

} // namespace

std::function<at::Tensor(const at::Tensor &, const c10::optional<at::Tensor> &, const c10::optional<at::Tensor> &,
                         const c10::optional<at::Tensor> &, const c10::optional<at::Tensor> &, double, double)>
synchronisedBatchNorm(ProcessGroup &group)
{
    const auto handle = reinterpret_cast<std::int64_t>(&group);
    return [handle](const at::Tensor &x, const c10::optional<at::Tensor> &weight, const c10::optional<at::Tensor> &bias,
                    const c10::optional<at::Tensor> &runningMean, const c10::optional<at::Tensor> &runningVar,
                    double momentum, double eps) {
        const std::int64_t channels = x.size(1);
        std::vector<std::int64_t> dims{0}, shape(std::size_t(x.dim()), 1);
        for (std::int64_t d = 2; d < x.dim(); ++d)
            dims.push_back(d);
        shape[1] = channels;
        // Two passes in the input's precision, as at::batch_norm does: the mean first, then the mean square
        // deviation from it (no E[x^2] - E[x]^2 cancellation). Sums in double moved the gradients away from one
        // process's at::batch_norm by far more than float rounding (docs/distributed.md).
        const auto sums = DifferentiableAllreduce::apply(
            torch::cat({x.sum(dims), torch::full({1}, double(x.numel() / channels), x.options())}), handle);
        const auto count = sums.narrow(0, channels, 1).detach();
        const auto mean = sums.narrow(0, 0, channels) / count;
        const auto centred = x - mean.view(shape);
        const auto variance = DifferentiableAllreduce::apply((centred * centred).sum(dims), handle) / count;
        auto y = centred * (variance + eps).rsqrt().view(shape);
        if (weight && weight->defined())
            y = y * weight->view(shape);
        if (bias && bias->defined())
            y = y + bias->view(shape);
        torch::NoGradGuard noGrad;
        const double n = count.item<double>();
        if (runningMean && runningMean->defined())
            runningMean->mul_(1.0 - momentum).add_(mean.detach().to(runningMean->scalar_type()), momentum);
        if (runningVar && runningVar->defined())
            runningVar->mul_(1.0 - momentum).add_(variance.detach().to(runningVar->scalar_type()) * (n / std::max(1.0, n - 1.0)), momentum);
        return y;
    };
}

void averageGradients(ProcessGroup &group, const std::vector<at::Tensor> &params)
{
    // A parameter no rank used this step keeps no gradient, as in one process (the optimizer then leaves it alone,
    // weight decay included).
    std::vector<std::int64_t> used(params.size());
    for (std::size_t i = 0; i < params.size(); ++i)
        used[i] = params[i].grad().defined() ? 1 : 0;
    group.allreduceSum(used, "averaging the gradients");
    std::vector<at::Tensor> grads;
    grads.reserve(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (!used[i])
            continue;
        if (!params[i].grad().defined())
            params[i].mutable_grad() = torch::zeros_like(params[i]);
        grads.push_back(params[i].grad());
    }
    averageTensors(group, grads, "averaging the gradients");
}

} // namespace sparsity::detail
