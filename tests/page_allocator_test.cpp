// kv::PageAllocator: large buffers are mapped and unmapped directly, small
// ones go through operator new, and containers using it behave as usual.
#include "kv/page_allocator.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "kv/block.hpp"
#include "kv/block_builder.hpp"
#include "kv/bloom_filter.hpp"

using kv::PageString;
using kv::PageVector;
using kv::detail::LiveMappings;

TEST_CASE("PageAllocator maps large requests and unmaps them on free") {
  const std::size_t before = LiveMappings();
  {
    PageVector<std::uint64_t> small(16, 7);  // 128 bytes: operator new
    CHECK(LiveMappings() == before);
    PageVector<std::uint64_t> large(kv::kPageAllocatorMinMappedBytes / 8, 9);
    CHECK(LiveMappings() == before + 1);
    CHECK(reinterpret_cast<std::uintptr_t>(large.data()) % 4096 == 0);
    CHECK(large.front() == 9);
    CHECK(large.back() == 9);
    CHECK(small.back() == 7);
  }
  CHECK(LiveMappings() == before);
}

TEST_CASE("PageString grows through mapped buffers and keeps its bytes") {
  const std::size_t before = LiveMappings();
  {
    PageString s;
    std::string expected;
    for (int i = 0; i < 100000; ++i) {
      const char c = static_cast<char>('a' + i % 26);
      s.push_back(c);
      expected.push_back(c);
      // Only the current buffer is mapped: each growth unmaps the old one.
      REQUIRE(LiveMappings() <= before + 1);
    }
    CHECK(std::string_view(s) == expected);
    CHECK(LiveMappings() == before + 1);
    PageString copy = s;  // a copy maps its own buffer
    CHECK(LiveMappings() == before + 2);
    CHECK(copy == s);
  }
  CHECK(LiveMappings() == before);
}

TEST_CASE("Table-building buffers leave no mappings behind") {
  const std::size_t before = LiveMappings();
  {
    kv::BloomFilterBuilder bloom(10);
    for (int i = 0; i < 50000; ++i) bloom.AddKey("key" + std::to_string(i));  // 400 KB of hashes
    CHECK(LiveMappings() > before);
    const PageString filter = bloom.Finish();
    kv::BloomFilterReader reader;
    REQUIRE(reader.Init(filter));
    CHECK(reader.KeyMayMatch("key123"));

    const std::size_t with_filter = LiveMappings();
    kv::BlockBuilder index(1);
    for (int i = 0; i < 20000; ++i) index.Add("k" + std::to_string(100000 + i), "handle");
    CHECK(index.Finish().size() > kv::kPageAllocatorMinMappedBytes);
    CHECK(LiveMappings() >= with_filter + 2);  // the block's bytes and its restart array
  }
  CHECK(LiveMappings() == before);
}

TEST_CASE("A Bloom builder sized ahead holds its filter and no list of hashes") {
  const std::size_t before = LiveMappings();
  constexpr int kKeys = 100'000;  // a 125 KB filter; listing would hold 800 KB of hashes
  {
    kv::BloomFilterBuilder sized(10, kKeys);
    CHECK(LiveMappings() == before + 1);  // the filter, at its final size
    for (int i = 0; i < kKeys; ++i) sized.AddKey("key" + std::to_string(i));
    CHECK(LiveMappings() == before + 1);
    const PageString filter = sized.Finish();
    CHECK(LiveMappings() == before + 1);
    kv::BloomFilterReader reader;
    REQUIRE(reader.Init(filter));
    CHECK(reader.KeyMayMatch("key99999"));
  }
  CHECK(LiveMappings() == before);
}

TEST_CASE("AllocateAligned maps large buffers and aligns small ones") {
  const std::size_t before = LiveMappings();
  void* small = kv::detail::AllocateAligned(1000, 64);
  CHECK(reinterpret_cast<std::uintptr_t>(small) % 64 == 0);
  CHECK(LiveMappings() == before);
  void* large = kv::detail::AllocateAligned(kv::kPageAllocatorMinMappedBytes, 64);
  CHECK(reinterpret_cast<std::uintptr_t>(large) % kv::detail::kMappedAlignment == 0);
  CHECK(LiveMappings() == before + 1);
  static_cast<char*>(large)[kv::kPageAllocatorMinMappedBytes - 1] = 1;  // all of it is usable
  kv::detail::FreeAligned(large, kv::kPageAllocatorMinMappedBytes, 64);
  kv::detail::FreeAligned(small, 1000, 64);
  CHECK(LiveMappings() == before);
  {
    kv::AlignedBuffer block(300 << 10);  // a table's filter as read
    CHECK(LiveMappings() == before + 1);
    kv::AlignedBuffer moved = std::move(block);
    CHECK(LiveMappings() == before + 1);
    moved.data()[moved.size() - 1] = 'x';
  }
  CHECK(LiveMappings() == before);
}
