// metrics: kv's counters in the Prometheus text format, and a /metrics
// endpoint serving them.
//
// DB::GetProperty("kv.prometheus") returns every metric (writes, WAL syncs,
// flushes, compactions, stalls, files and bytes per level, ...) in the
// Prometheus text exposition format, names prefixed kv_. kv itself does no
// networking: exposing the text over HTTP is the application's job. This
// example does it with cpp-httplib (Debian: libcpp-httplib-dev), when it is
// installed at build time (the build then defines KV_EXAMPLE_HAVE_HTTPLIB).
//
//   metrics [DB_DIR]                 # print the metrics; with httplib, also
//                                    # scrape our own /metrics once and check it
//   metrics --serve [PORT] [DB_DIR]  # serve http://127.0.0.1:PORT/metrics until
//                                    # SIGINT/SIGTERM (default port 9464)
//
// With no DB_DIR a fresh temporary directory is used and removed at exit.
// The server listens on loopback only; put a reverse proxy in front of it to
// expose it further. Exits 0 on success, 1 on failure.
#include <signal.h>
#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kv/db.hpp"

#ifdef KV_EXAMPLE_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace {

// The Content-Type of the Prometheus text exposition format.
constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4";
constexpr int kDefaultPort = 9464;

struct Args {
  bool serve = false;
  int port = kDefaultPort;
  std::optional<std::filesystem::path> dir;
};

// Some writes, reads, a flush and a compaction, so the counters move.
absl::Status DoSomeWork(kv::DB& db) {
  for (int i = 0; i < 1000; ++i) {
    KV_RETURN_IF_ERROR(db.Put(absl::StrCat("key/", i), absl::StrCat("value ", i)));
  }
  kv::WriteBatch batch;
  for (int i = 0; i < 100; ++i) batch.Delete(absl::StrCat("key/", i));
  KV_RETURN_IF_ERROR(db.Write(kv::WriteOptions{.sync = true}, batch));
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<std::string> value = db.Get(absl::StrCat("key/", i));
    if (!value.ok() && !absl::IsNotFound(value.status())) return value.status();
  }
  KV_RETURN_IF_ERROR(db.Flush());
  return db.CompactRange(std::nullopt, std::nullopt);
}

#ifdef KV_EXAMPLE_HAVE_HTTPLIB

// Routes GET /metrics to the DB's current metrics. The handler runs on the
// server's worker threads; DB::GetProperty is thread-safe.
void InstallMetricsHandler(httplib::Server& server, kv::DB& db) {
  server.Get("/metrics", [&db](const httplib::Request&, httplib::Response& res) {
    std::optional<std::string> text = db.GetProperty("kv.prometheus");
    if (!text) {
      res.status = 500;
      res.set_content("kv.prometheus is not available\n", "text/plain");
      return;
    }
    res.set_content(*text, kPrometheusContentType);
  });
}

// Starts the accept loop on its own thread and waits until it runs (the
// socket already accepts connections once bound; waiting makes sure a later
// stop() is not issued before the loop starts, which would be lost).
std::thread StartListening(httplib::Server& server) {
  std::thread listener([&server] { server.listen_after_bind(); });
  for (int i = 0; i < 500 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return listener;
}

// --serve: serves until SIGINT or SIGTERM, then returns so the DB closes
// cleanly. The signals were blocked in every thread before any was started
// (see main); this thread waits for them with sigwait().
absl::Status Serve(kv::DB& db, int port, const sigset_t& stop_signals) {
  httplib::Server server;
  InstallMetricsHandler(server, db);
  if (!server.bind_to_port("127.0.0.1", port)) {
    return absl::UnavailableError(absl::StrCat("cannot listen on 127.0.0.1:", port));
  }
  std::thread listener = StartListening(server);
  std::cout << "serving http://127.0.0.1:" << port << "/metrics (Ctrl-C to stop)" << std::endl;
  int signal = 0;
  sigwait(&stop_signals, &signal);
  std::cout << "\n" << strsignal(signal) << ": stopping" << std::endl;
  server.stop();
  listener.join();
  return absl::OkStatus();
}

// No arguments (the test run): serve on an ephemeral loopback port, scrape
// ourselves once the way Prometheus would, and check the answer.
absl::Status ServeAndScrapeOnce(kv::DB& db) {
  httplib::Server server;
  InstallMetricsHandler(server, db);
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) return absl::UnavailableError("cannot listen on 127.0.0.1");
  std::thread listener = StartListening(server);

  absl::Status result = [&]() -> absl::Status {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(std::chrono::seconds{3});
    client.set_read_timeout(std::chrono::seconds{3});
    httplib::Result res = client.Get("/metrics");
    if (!res) {
      return absl::UnavailableError(
          absl::StrCat("GET /metrics failed: ", httplib::to_string(res.error())));
    }
    const std::string content_type = res->get_header_value("Content-Type");
    std::cout << "GET http://127.0.0.1:" << port << "/metrics -> " << res->status << ", "
              << content_type << ", " << res->body.size() << " bytes\n";
    if (res->status != 200) return absl::InternalError("status is not 200");
    if (content_type != kPrometheusContentType) {
      return absl::InternalError(absl::StrCat("unexpected Content-Type: ", content_type));
    }
    if (res->body.find("# TYPE kv_") == std::string::npos) {
      return absl::InternalError("the body has no kv_ metrics");
    }
    return absl::OkStatus();
  }();

  server.stop();
  listener.join();
  return result;
}

#endif  // KV_EXAMPLE_HAVE_HTTPLIB

absl::Status Run(const std::filesystem::path& dir, const Args& args,
                 [[maybe_unused]] const sigset_t& stop_signals) {
  std::cout << "opening a DB in " << dir << "\n";
  KV_ASSIGN_OR_RETURN(std::unique_ptr<kv::DB> db, kv::DB::Open(kv::Options{}, dir));
  KV_RETURN_IF_ERROR(DoSomeWork(*db));

  std::optional<std::string> text = db->GetProperty("kv.prometheus");
  if (!text) return absl::InternalError("kv.prometheus is not available");
  if (!args.serve) std::cout << "--- kv.prometheus ---\n" << *text << "---\n";

#ifdef KV_EXAMPLE_HAVE_HTTPLIB
  if (args.serve) return Serve(*db, args.port, stop_signals);
  return ServeAndScrapeOnce(*db);
#else
  if (args.serve) {
    return absl::UnimplementedError(
        "serving over HTTP is not built: install cpp-httplib (Debian: libcpp-httplib-dev) "
        "and rebuild the examples");
  }
  std::cout << "serving /metrics over HTTP is not built (no cpp-httplib found at build time)\n";
  return absl::OkStatus();
#endif
}

bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--serve") {
      args->serve = true;
      int port = 0;
      if (i + 1 < argc && absl::SimpleAtoi(argv[i + 1], &port)) {
        if (port <= 0 || port > 65535) return false;
        args->port = port;
        ++i;
      }
    } else if (arg.starts_with("-") || args->dir) {
      return false;
    } else {
      args->dir = std::filesystem::path(arg);
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, &args)) {
    std::cerr << "usage: metrics [--serve [PORT]] [DB_DIR]\n";
    return 1;
  }

  // --serve stops on SIGINT/SIGTERM. Block them now, before kv or the server
  // start any thread (threads inherit the mask), so that only the thread
  // calling sigwait() ever receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (args.serve) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::filesystem::path dir;
  bool temporary = false;
  if (args.dir) {
    dir = *args.dir;
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kv-metrics-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "metrics: cannot create a temporary directory\n";
      return 1;
    }
    dir = tmpl;
    temporary = true;
  }

  absl::Status status = Run(dir, args, stop_signals);
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  if (!status.ok()) {
    std::cerr << "metrics: FAILED: " << status << "\n";
    return 1;
  }
  std::cout << "metrics: OK\n";
  return 0;
}
