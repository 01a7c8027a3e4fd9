#include "threads.h"

#include "graph/model.h"

#include <ATen/Parallel.h>

namespace sparsity {

void setComputeThreads(int n)
{
    initTorchThreads(); // once only: after this call it leaves our setting alone
    if (n >= 1)
        at::set_num_threads(n);
}

int computeThreads() { return at::get_num_threads(); }

} // namespace sparsity
