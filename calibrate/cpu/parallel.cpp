#include "calibrate/cpu/parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace zerosim::calib::cpu {

int elementwise_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace zerosim::calib::cpu
