#include "ike/nat_detect.h"

#include <openssl/evp.h>

namespace ike {

NatHash nat_detection_hash(std::uint64_t spi_i, std::uint64_t spi_r, const common::Endpoint& ep) {
  common::Bytes in;
  common::Writer w(in);
  w.u64(spi_i);
  w.u64(spi_r);
  w.bytes(ep.addr.bytes());
  w.u16(ep.port);
  NatHash out{};
  unsigned len = 0;
  // SHA-1 is what the RFC fixes for this notify; a failure leaves zeros, which simply
  // never matches (we then assume a NAT, the safe direction).
  (void)EVP_Digest(in.data(), in.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                   EVP_sha1(), nullptr);
  return out;
}

}  // namespace ike
