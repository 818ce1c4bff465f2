// NAT detection (RFC 7296 §2.23): the NAT_DETECTION_SOURCE_IP / _DESTINATION_IP notify
// data is SHA-1(SPIi | SPIr | IP address | port), SPIr being zero in the IKE_SA_INIT
// request. A mismatch of the received source hash with the packet's real source means
// the peer is behind a NAT; of the destination hash with our address, that we are.
#pragma once

#include <array>
#include <cstdint>

#include "common/bytes.h"
#include "common/net.h"

namespace ike {

using NatHash = std::array<std::byte, 20>;

NatHash nat_detection_hash(std::uint64_t spi_i, std::uint64_t spi_r, const common::Endpoint& ep);

}  // namespace ike
