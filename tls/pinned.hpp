#pragma once
// pinned(): a per-thread pin of a core::Snapshot value for the TLS callbacks, which get no
// per-worker object to hold a Snapshot::Reader. One slot per T and thread; the slot is
// refreshed when the owner id or the snapshot generation changes, so the steady state is one
// atomic load and no lock. The reference stays valid until the next pinned<T>() call on
// this thread: copy what must outlive it.
#include <cstdint>
#include <memory>

#include "core/snapshot.hpp"

namespace portier::tls {

template <class T>
const std::shared_ptr<const T>& pinned(const core::Snapshot<T>& snap, uint64_t owner) {
  thread_local struct {
    uint64_t owner = 0;
    uint64_t generation = ~uint64_t{0};
    std::shared_ptr<const T> value;
  } cache;
  uint64_t g = snap.generation();
  if (cache.owner != owner || cache.generation != g) {
    cache.value = snap.load();
    cache.owner = owner;
    cache.generation = g;
  }
  return cache.value;
}

// A process-unique owner id for pinned() (never 0).
uint64_t next_pin_owner_id();

}  // namespace portier::tls
