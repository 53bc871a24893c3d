#pragma once
// A vector of immutable items held by shared_ptr, read like a std::vector<T> ([i], at, size,
// range-for over const T&). Copying an item's pointer into the next snapshot shares it, so a
// reload reuses what did not change instead of copying it. Items are never modified once
// added; the container itself is filled on the control thread before it is published.
#include <cstddef>
#include <memory>
#include <vector>

namespace portier::proxy {

template <class T>
class SharedItems {
 public:
  using Ptr = std::shared_ptr<const T>;

  class const_iterator {
   public:
    explicit const_iterator(typename std::vector<Ptr>::const_iterator it) : it_(it) {}
    const T& operator*() const { return **it_; }
    const T* operator->() const { return it_->get(); }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator==(const const_iterator&) const = default;

   private:
    typename std::vector<Ptr>::const_iterator it_;
  };

  const T& operator[](size_t i) const { return *items_[i]; }
  const T& at(size_t i) const { return *items_.at(i); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const_iterator begin() const { return const_iterator(items_.begin()); }
  const_iterator end() const { return const_iterator(items_.end()); }

  void reserve(size_t n) { items_.reserve(n); }
  void push_back(Ptr item) { items_.push_back(std::move(item)); }
  void push_back(T item) { items_.push_back(std::make_shared<const T>(std::move(item))); }

 private:
  std::vector<Ptr> items_;
};

}  // namespace portier::proxy
