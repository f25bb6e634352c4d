// The POSIX file system's WritableFile (see posix_writable_file.cpp for how
// appends reach the kernel).
//
//   const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
//   std::unique_ptr<WritableFile> f = NewPosixWritableFile(path, fd, /*size=*/0);
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kv/env.hpp"

namespace kv::detail {

// Takes ownership of `fd`, which must be open for reading and writing (a
// preallocating file maps its reserved space) and positioned nowhere in
// particular: appends go at `size`, the bytes the file already holds.
std::unique_ptr<WritableFile> NewPosixWritableFile(std::string path, int fd, std::uint64_t size);

}  // namespace kv::detail
