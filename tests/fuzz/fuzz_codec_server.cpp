// libFuzzer harness: parley::protocol::decodeServerFrame, what client-core runs on every
// frame the server sends. Beyond the sanitizers it checks that a decoded frame survives
// encode() and a second decode unchanged, and that encoding is canonical.
#include "codecroundtrip.h"

using namespace parley;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    return fuzz::codecRoundTrip<protocol::ServerFrame>(
        data, size, [](QByteArrayView input) { return protocol::decodeServerFrame(input); });
}
