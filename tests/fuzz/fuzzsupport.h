// Shared by the libFuzzer harnesses (tests/fuzz, docs/reliability.md section 4): Qt's
// log output silenced (the parsers warn about hostile input, which is all the fuzzer
// sends), and a way to cut one input into pieces so byte-fed parsers see every split.
#pragma once

#include <QByteArrayView>
#include <QtGlobal>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace parley::fuzz {

inline void quietQt()
{
    qInstallMessageHandler([](QtMsgType, const QMessageLogContext &, const QString &) {});
}

// The harness found a contradiction (not a sanitizer error): abort, so libFuzzer
// records the input as a crash.
[[noreturn]] inline void violated(const char *what)
{
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
}

inline void check(bool condition, const char *what)
{
    if (!condition)
        violated(what);
}

// Piece sizes taken from `split` (its bytes, cycled, each 1..16): the same input fed
// whole and fed in these pieces must give the same result.
template<typename Feed> void feedInPieces(QByteArrayView input, std::uint8_t split, Feed feed)
{
    qsizetype pos = 0;
    unsigned state = split | 1u;
    while (pos < input.size()) {
        state = state * 1103515245u + 12345u;
        const qsizetype piece = qMin<qsizetype>(1 + ((state >> 16) % 16), input.size() - pos);
        feed(input.sliced(pos, piece));
        pos += piece;
    }
}

} // namespace parley::fuzz
