// Engine registry: which adapters are compiled in, and opening one by name.
#include "absl/strings/str_cat.h"
#include "engine.hpp"
#include "kv/status_macros.hpp"

namespace kv::bench {

std::vector<std::string> AvailableEngines() {
  std::vector<std::string> out = {"kv"};
#ifdef KV_BENCH_HAVE_LEVELDB
  out.push_back("leveldb");
#endif
#ifdef KV_BENCH_HAVE_ROCKSDB
  out.push_back("rocksdb");
#endif
  return out;
}

absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(std::string_view engine,
                                                   const EngineSettings& settings,
                                                   const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir.string(), ": ", ec.message()));
  if (engine == "kv") return OpenKvEngine(settings, dir);
#ifdef KV_BENCH_HAVE_LEVELDB
  if (engine == "leveldb") return OpenLevelDbEngine(settings, dir);
#endif
#ifdef KV_BENCH_HAVE_ROCKSDB
  if (engine == "rocksdb") return OpenRocksDbEngine(settings, dir);
#endif
  return absl::InvalidArgumentError(
      absl::StrCat("engine '", Sv(engine), "' is not compiled into this kv_bench"));
}

}  // namespace kv::bench
