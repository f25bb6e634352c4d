// Runs a few rounds of the crash torture (tests/crash/kv_stress.cpp): a writer
// process is SIGKILLed at random moments, and after each kill the DB must hold
// every acknowledged write, only well-formed values, and whole batches.
// Longer campaigns: scripts/crash_torture.sh MINUTES.
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "test_util.hpp"

#ifndef KV_STRESS_PATH
#error "KV_STRESS_PATH must name the kv_stress executable (see tests/crash/CMakeLists.txt)"
#endif

namespace kv {
namespace {

TEST_CASE("crash torture: 5 SIGKILL rounds lose nothing acknowledged", "[db][crash]") {
  test::TempDir tmp;
  const std::string seed = std::to_string(test::TestSeed());
  const std::string cmd = std::string("'") + KV_STRESS_PATH + "' torture --db '" + tmp.str() +
                          "/db' --rounds 5 --threads 3 --seed " + seed;
  INFO("command: " << cmd);
  const int status = std::system(cmd.c_str());
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace kv
