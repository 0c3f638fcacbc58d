// The check both codec harnesses make: a frame that decodes survives encode() and a second
// decode unchanged, and its encoding is canonical; a frame that does not decode says why.
#pragma once

#include "codec.h"
#include "fuzzsupport.h"

namespace parley::fuzz {

template<typename Frame, typename Decode>
int codecRoundTrip(const std::uint8_t *data, std::size_t size, Decode decode)
{
    const QByteArrayView input(data, qsizetype(size));
    const protocol::Decoded<Frame> decoded = decode(input);
    if (!decoded) {
        check(!decoded.error().message.isEmpty(), "a decode error without a message");
        return 0;
    }
    const QByteArray encoded = protocol::encode(decoded.value());
    const protocol::Decoded<Frame> again = decode(encoded);
    check(again.ok(), "encode() of a decoded frame does not decode");
    check(again.value() == decoded.value(), "frame changed by encode and decode");
    check(protocol::encode(again.value()) == encoded, "frame encoding not canonical");
    return 0;
}

} // namespace parley::fuzz
