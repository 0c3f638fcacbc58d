// libFuzzer harness: parley::server::redis::RespParser, which reads every reply of the
// Redis bus. The input is parsed whole and in pieces (small limits for odd-sized inputs,
// so the limits are reached too); both parsers must produce the same replies. Replies
// made of strings go back through encodeCommand() and must parse to themselves.
#include "fuzzsupport.h"
#include "resp.h"

#include <cmath>

using parley::fuzz::check;
using namespace parley::server::redis;

namespace {

// RespValue's operator== but with NaN equal to NaN (",nan\r\n" is a valid double).
bool same(const RespValue &a, const RespValue &b)
{
    if (a.type != b.type || a.string != b.string || a.integer != b.integer || a.boolean != b.boolean
        || a.elements.size() != b.elements.size())
        return false;
    if (a.number != b.number && !(std::isnan(a.number) && std::isnan(b.number)))
        return false;
    for (std::size_t i = 0; i < a.elements.size(); ++i) {
        if (!same(a.elements[i], b.elements[i]))
            return false;
    }
    return true;
}

struct Outcome
{
    std::vector<RespValue> values;
    bool failed = false;
};

void drain(RespParser &parser, Outcome &outcome)
{
    for (;;) {
        RespValue value;
        const RespParser::Status status = parser.next(&value);
        if (status == RespParser::Status::Value) {
            check(!parser.errorString().size(), "a value after an error");
            outcome.values.push_back(std::move(value));
            continue;
        }
        if (status == RespParser::Status::Error) {
            check(!parser.errorString().isEmpty(), "an error without a message");
            outcome.failed = true;
        }
        return;
    }
}

int depthOf(const RespValue &value)
{
    int depth = 0;
    for (const RespValue &e : value.elements)
        depth = std::max(depth, depthOf(e));
    return value.isAggregate() ? depth + 1 : depth;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    parley::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArrayView input(data, qsizetype(size));
    RespLimits limits;
    if (size % 2) {
        limits.maxBulkBytes = 64;
        limits.maxLineBytes = 32;
        limits.maxDepth = 3;
        limits.maxElements = 16;
    }

    RespParser whole(limits);
    Outcome wholeOutcome;
    whole.feed(input);
    drain(whole, wholeOutcome);

    RespParser pieces(limits);
    Outcome pieceOutcome;
    parley::fuzz::feedInPieces(input, std::uint8_t(size), [&](QByteArrayView piece) {
        if (!pieceOutcome.failed) {
            pieces.feed(piece);
            drain(pieces, pieceOutcome);
        }
    });

    check(wholeOutcome.failed == pieceOutcome.failed, "whole and piecewise errors differ");
    check(wholeOutcome.values.size() == pieceOutcome.values.size(), "different reply counts");
    for (std::size_t i = 0; i < wholeOutcome.values.size(); ++i) {
        const RespValue &value = wholeOutcome.values[i];
        check(same(value, pieceOutcome.values[i]), "whole and piecewise replies differ");
        check(depthOf(value) <= limits.maxDepth, "a reply nested deeper than maxDepth");
        check(!describe(value).isNull(), "describe() gave nothing");

        if (value.type != RespValue::Type::Array || value.elements.empty())
            continue;
        QList<QByteArray> arguments;
        for (const RespValue &e : value.elements) {
            if (e.type != RespValue::Type::BulkString)
                break;
            arguments.append(e.string);
        }
        if (arguments.size() != qsizetype(value.elements.size()))
            continue;
        RespParser again(limits);
        again.feed(encodeCommand(arguments));
        RespValue back;
        check(again.next(&back) == RespParser::Status::Value && same(back, value),
            "encodeCommand() of a reply does not parse back to it");
    }

    whole.reset();
    check(whole.bufferedBytes() == 0 && whole.errorString().isEmpty(), "reset() kept state");
    return 0;
}
