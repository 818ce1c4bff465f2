// Per-IKE_SA exchange bookkeeping (RFC 7296 §2.1, §2.2, §2.4): message IDs in both
// directions, a window of one outstanding request, retransmission of that request with
// exponential backoff, and the cached last response for answering a retransmitted request.
//
// The task manager does not know what an exchange means; the IKE_SA's tasks build and
// process the messages. It only answers "is this message ID new, a retransmission, or to
// be dropped" and "when must the outstanding request be resent or given up".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/net.h"

namespace ike {

// Backoff as data: attempt n (0 = the first send) waits base * factor^n before the next
// retransmission; after `tries` retransmissions and one more wait the request is given up.
// strongSwan's defaults: 4 s, 1.8, 5 tries (≈ 165 s in all).
struct RetransmitPolicy {
  std::chrono::milliseconds base{4000};
  double factor = 1.8;
  unsigned tries = 5;
  std::chrono::milliseconds timeout(unsigned attempt) const;
};

class TaskManager {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit TaskManager(RetransmitPolicy p = {}) : policy_(p) {}

  // ---- our requests (window size 1) ----
  std::uint32_t next_request_id() const { return next_out_; }
  bool request_outstanding() const { return outstanding_.has_value(); }
  std::optional<std::uint32_t> outstanding_id() const {
    if (outstanding_) return outstanding_->mid;
    return std::nullopt;
  }
  // Records the request just sent (message ID next_request_id()).
  void on_request_sent(common::Endpoint local, common::Endpoint remote, common::Bytes msg,
                       TimePoint now);
  // A response arrived: true when it answers the outstanding request (which is then
  // done and the next message ID is consumed). Anything else is to be dropped.
  bool on_response(std::uint32_t mid);
  // After IKE_SA_INIT the outstanding request may have to move (e.g. to port 4500).
  void forget_outstanding() { outstanding_.reset(); }

  enum class Timeout { none, retransmit, give_up };
  // Retransmit: the caller resends retransmit_data() to retransmit_local()/remote().
  Timeout on_expiry(TimePoint now);
  std::optional<TimePoint> next_expiry() const;
  // When the outstanding request was first sent (retransmissions do not move it).
  std::optional<TimePoint> request_first_sent() const {
    if (outstanding_) return outstanding_->first_sent;
    return std::nullopt;
  }
  const common::Bytes& request_data() const { return outstanding_->data; }
  const common::Endpoint& request_local() const { return outstanding_->local; }
  const common::Endpoint& request_remote() const { return outstanding_->remote; }

  // ---- the peer's requests ----
  enum class RequestCheck { fresh, retransmit, drop };
  RequestCheck check_request(std::uint32_t mid) const;
  // The response to request `mid` (== the expected ID) was sent; it becomes the cache.
  void on_response_sent(std::uint32_t mid, common::Bytes msg);
  const common::Bytes& cached_response() const { return last_response_; }
  std::uint32_t expected_request_id() const { return next_in_; }

 private:
  struct Outstanding {
    std::uint32_t mid = 0;
    common::Endpoint local, remote;
    common::Bytes data;
    unsigned attempt = 0;
    TimePoint deadline{};
    TimePoint first_sent{};
  };
  RetransmitPolicy policy_;
  std::uint32_t next_out_ = 0;
  std::uint32_t next_in_ = 0;
  std::optional<Outstanding> outstanding_;
  common::Bytes last_response_;
  bool have_response_ = false;
};

}  // namespace ike
