#include "proxy/prometheus_text.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace portier::proxy {

namespace {
void append_value(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    // The shortest text that reads back as v (Go's FormatFloat(v, 'g', -1, 64)).
    for (int precision = 1; precision <= 17; ++precision) {
      std::snprintf(buf, sizeof buf, "%.*g", precision, v);
      if (std::strtod(buf, nullptr) == v) break;
    }
  }
  out += buf;
}
}  // namespace

std::string render_labels(const Labels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out.append(name).append("=\"");
    for (char c : value) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += '"';
  }
  return out;
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusText::sample(std::string_view name, const Labels& labels, double value) {
  sample_raw(name, render_labels(labels), value);
}

void PrometheusText::sample_raw(std::string_view name, std::string_view labels, double value) {
  out_.append(name);
  if (!labels.empty()) out_.append("{").append(labels).append("}");
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

}  // namespace portier::proxy
