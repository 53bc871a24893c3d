#pragma once
// Value-or-error for the ACME control plane: `error` empty on success.
#include <string>
#include <utility>

namespace portier::acme {

template <class T>
struct Result {
  T value{};
  std::string error;
  bool ok() const { return error.empty(); }
  static Result success(T value) {
    Result r;
    r.value = std::move(value);
    return r;
  }
  static Result failure(std::string why) {
    Result r;
    r.error = std::move(why);
    return r;
  }
};

}  // namespace portier::acme
