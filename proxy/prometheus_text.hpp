#pragma once
// Prometheus text exposition format 0.0.4: families (HELP, TYPE) and their samples, label
// values escaped. A family's samples must follow it.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portier::proxy {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

class PrometheusText {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  // `labels` already rendered ("a=\"x\",b=\"y\""), for aggregated series.
  void sample_raw(std::string_view name, std::string_view labels, double value);
  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// a="x",b="y" with values escaped (\\, \", \n).
std::string render_labels(const Labels& labels);

}  // namespace portier::proxy
