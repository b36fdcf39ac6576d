#pragma once
// One op on the compute stream as the training thread issues it (docs/time-model.md, "The host that
// launches kernels"): its n kernels, issued one after another over `host_s`, each runs when the GPU is free
// and the host has issued it. With the GPU time split evenly over the kernels, the op begins at
// max(GPU free, host_start + host_s / n) and ends at max(begin + gpu_s, host_start + host_s + gpu_s / n):
// the second term is the host-bound case, where every kernel waits for its launch.
namespace zerosim {

struct LaunchedOp {
  double begin = 0;     // the first kernel starts
  double end = 0;       // the last kernel ends
  double host_end = 0;  // the host has issued the last kernel (it goes on at once: launches are asynchronous)
};

// The last `synced_kernels` kernels are each followed by a host wait for the GPU (torch.cuda.synchronize()):
// after the others, host and GPU take turns, host_s / n then gpu_s / n per kernel, and the host ends with
// the GPU.
LaunchedOp launch_op(double host_start, double gpu_free, double host_s, int kernels, double gpu_s,
                     int synced_kernels = 0);

}  // namespace zerosim
