#pragma once
// TicketKeyRing: the session-ticket keys (RFC 5077 style: 16-byte name, AES-256-CBC,
// HMAC-SHA256) shared by every server SSL_CTX and worker, so a ticket issued on one thread
// resumes on any other. Tickets are issued with the current key and accepted with the current
// or the previous one (those get a fresh ticket), so a ticket lives at most two intervals.
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <chrono>
#include <string>
#include <string_view>
#include <cstdint>

#include "core/snapshot.hpp"

namespace portier::tls {

class TicketKeyRing {
 public:
  using Clock = std::chrono::system_clock;

  explicit TicketKeyRing(std::chrono::seconds interval = std::chrono::hours(12));

  // Control thread: the current key becomes the previous one, a new current key is drawn.
  void rotate();
  // Control thread: rotates when the current key is older than the interval. True if rotated.
  bool rotate_if_due(Clock::time_point now = Clock::now());
  std::chrono::seconds interval() const { return interval_; }

  // The keys as bytes, for a live upgrade to hand them to the next process (secret: pass them
  // only through a descriptor), and their import there: false when `bytes` is not an export.
  // Control thread.
  std::string export_keys() const;
  bool import_keys(std::string_view bytes);

  // Body of the OpenSSL ticket_key_evp_cb, any thread, no lock. Returns what OpenSSL expects:
  // encrypt 1 ok / -1 error; decrypt 0 unknown key, 1 ok, 2 ok and renew, -1 error.
  int handle(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
             int encrypt) const;

 private:
  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
  };
  struct Keys {
    Key current;
    Key previous;
    bool has_previous = false;
    Clock::time_point created;
  };
  static bool draw(Key& key);

  std::chrono::seconds interval_;
  uint64_t id_;
  core::Snapshot<Keys> keys_;
};

}  // namespace portier::tls
