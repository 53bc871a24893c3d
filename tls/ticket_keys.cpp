#include "tls/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

#include "tls/pinned.hpp"

namespace portier::tls {

namespace {
// Fetched once for the process: with EVP_aes_256_cbc(), OpenSSL 3 looks the implementation up
// by name on every EVP_*Init_ex, i.e. on every ticket issued or decrypted.
const EVP_CIPHER* ticket_cipher() {
  static EVP_CIPHER* const fetched = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return fetched ? fetched : EVP_aes_256_cbc();
}
}  // namespace

TicketKeyRing::TicketKeyRing(std::chrono::seconds interval) : interval_(interval), id_(next_pin_owner_id()) {
  rotate();
}

bool TicketKeyRing::draw(Key& key) {
  return RAND_bytes(key.name, sizeof key.name) == 1 && RAND_priv_bytes(key.aes, sizeof key.aes) == 1 &&
         RAND_priv_bytes(key.hmac, sizeof key.hmac) == 1;
}

void TicketKeyRing::rotate() {
  auto next = std::make_shared<Keys>();
  if (!draw(next->current)) throw std::runtime_error("RAND_bytes failed drawing a ticket key");
  if (auto old = keys_.load()) {
    next->previous = old->current;
    next->has_previous = true;
  }
  next->created = Clock::now();
  keys_.publish(std::move(next));
}

// Layout: "PTK1", current key, previous key (zeros when none), has_previous, created (seconds
// since the epoch, 8 bytes little-endian).
std::string TicketKeyRing::export_keys() const {
  auto keys = keys_.load();
  std::string out = "PTK1";
  out.append(reinterpret_cast<const char*>(&keys->current), sizeof(Key));
  Key previous{};
  if (keys->has_previous) previous = keys->previous;
  out.append(reinterpret_cast<const char*>(&previous), sizeof(Key));
  out.push_back(keys->has_previous ? 1 : 0);
  int64_t created = std::chrono::duration_cast<std::chrono::seconds>(keys->created.time_since_epoch()).count();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((created >> (8 * i)) & 0xff));
  return out;
}

bool TicketKeyRing::import_keys(std::string_view bytes) {
  constexpr size_t kSize = 4 + 2 * sizeof(Key) + 1 + 8;
  if (bytes.size() != kSize || bytes.substr(0, 4) != "PTK1") return false;
  auto next = std::make_shared<Keys>();
  const char* p = bytes.data() + 4;
  std::memcpy(&next->current, p, sizeof(Key));
  std::memcpy(&next->previous, p + sizeof(Key), sizeof(Key));
  p += 2 * sizeof(Key);
  next->has_previous = *p++ != 0;
  int64_t created = 0;
  for (int i = 0; i < 8; ++i) created |= static_cast<int64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  next->created = Clock::time_point(std::chrono::seconds(created));
  keys_.publish(std::move(next));
  return true;
}

bool TicketKeyRing::rotate_if_due(Clock::time_point now) {
  auto keys = keys_.load();
  if (keys && now - keys->created < interval_) return false;
  rotate();
  return true;
}

int TicketKeyRing::handle(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                          EVP_MAC_CTX* mac, int encrypt) const {
  const Keys& keys = *pinned(keys_, id_);
  const Key* key = &keys.current;
  bool renew = false;
  if (encrypt) {
    if (RAND_bytes(iv, 16) != 1) return -1;
    std::memcpy(key_name, key->name, 16);
  } else if (std::memcmp(key_name, keys.current.name, 16) != 0) {
    if (!keys.has_previous || std::memcmp(key_name, keys.previous.name, 16) != 0) return 0;
    key = &keys.previous;
    renew = true;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(mac, key->hmac, sizeof key->hmac, params) != 1) return -1;
  int ok = encrypt ? EVP_EncryptInit_ex(cipher, ticket_cipher(), nullptr, key->aes, iv)
                   : EVP_DecryptInit_ex(cipher, ticket_cipher(), nullptr, key->aes, iv);
  if (ok != 1) return -1;
  return renew ? 2 : 1;
}

}  // namespace portier::tls
