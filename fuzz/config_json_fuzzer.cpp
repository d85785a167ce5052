// parse_config() on JSON text (the loader reads both through yaml-cpp); see config_fuzz.hpp for
// what is checked. Its seed corpus and dictionary are JSON ones.
#include "config_fuzz.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)eventhooks::fuzz::config_base_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  eventhooks::fuzz::config_fuzz_one(data, size);
  return 0;
}
