#pragma once
// systemd's notify protocol: one datagram to $NOTIFY_SOCKET ("READY=1", "STOPPING=1", ...).
// A no-op when the variable is unset (not started by systemd or a test harness).
#include <string_view>

namespace portier::app {

bool sd_notify(std::string_view state);

}  // namespace portier::app
