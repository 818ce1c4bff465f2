#include "ike/task_manager.h"

#include <cmath>

namespace ike {

std::chrono::milliseconds RetransmitPolicy::timeout(unsigned attempt) const {
  double ms = static_cast<double>(base.count()) * std::pow(factor, static_cast<double>(attempt));
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

void TaskManager::on_request_sent(common::Endpoint local, common::Endpoint remote,
                                  common::Bytes msg, TimePoint now) {
  Outstanding o;
  o.mid = next_out_;
  o.local = local;
  o.remote = remote;
  o.data = std::move(msg);
  o.attempt = 0;
  o.deadline = now + policy_.timeout(0);
  o.first_sent = now;
  outstanding_ = std::move(o);
}

bool TaskManager::on_response(std::uint32_t mid) {
  if (!outstanding_ || outstanding_->mid != mid) return false;
  outstanding_.reset();
  ++next_out_;
  return true;
}

TaskManager::Timeout TaskManager::on_expiry(TimePoint now) {
  if (!outstanding_ || now < outstanding_->deadline) return Timeout::none;
  if (outstanding_->attempt >= policy_.tries) return Timeout::give_up;
  ++outstanding_->attempt;
  outstanding_->deadline = now + policy_.timeout(outstanding_->attempt);
  return Timeout::retransmit;
}

std::optional<TaskManager::TimePoint> TaskManager::next_expiry() const {
  if (!outstanding_) return std::nullopt;
  return outstanding_->deadline;
}

TaskManager::RequestCheck TaskManager::check_request(std::uint32_t mid) const {
  if (mid == next_in_) return RequestCheck::fresh;
  if (have_response_ && next_in_ > 0 && mid == next_in_ - 1) return RequestCheck::retransmit;
  return RequestCheck::drop;
}

void TaskManager::on_response_sent(std::uint32_t mid, common::Bytes msg) {
  if (mid != next_in_) return;
  last_response_ = std::move(msg);
  have_response_ = true;
  ++next_in_;
}

}  // namespace ike
