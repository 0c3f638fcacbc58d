// libFuzzer harness: parley::protocol::decodeClientFrame, what the server runs on every
// frame a client sends. Beyond the sanitizers it checks that a decoded frame survives
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
    return fuzz::codecRoundTrip<protocol::ClientFrame>(
        data, size, [](QByteArrayView input) { return protocol::decodeClientFrame(input); });
}
