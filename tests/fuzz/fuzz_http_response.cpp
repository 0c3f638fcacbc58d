// libFuzzer harness: parley::server::aws::HttpResponseParser, which reads what the
// DynamoDB endpoint (or anything posing as it) answers. The input is fed whole and in
// pieces, then the connection is closed; both parsers must report the same responses.
#include "fuzzsupport.h"
#include "httpresponseparser.h"

using parley::fuzz::check;
using parley::server::aws::HttpResponse;
using parley::server::aws::HttpResponseParser;

namespace {

bool same(const QList<HttpResponse> &a, const QList<HttpResponse> &b)
{
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (a[i].status != b[i].status || a[i].headers != b[i].headers || a[i].body != b[i].body
            || a[i].closesConnection != b[i].closesConnection)
            return false;
    }
    return true;
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

    HttpResponseParser whole;
    QList<HttpResponse> wholeResponses;
    const bool wholeOk = whole.feed(input, &wholeResponses);
    check(wholeOk == whole.errorString().isEmpty(), "feed() and errorString() disagree");

    HttpResponseParser pieces;
    QList<HttpResponse> pieceResponses;
    bool piecesOk = true;
    parley::fuzz::feedInPieces(input, std::uint8_t(size),
        [&](QByteArrayView piece) { piecesOk = pieces.feed(piece, &pieceResponses) && piecesOk; });
    check(piecesOk == wholeOk, "whole and piecewise feeds disagree on success");
    if (wholeOk) {
        check(same(wholeResponses, pieceResponses), "whole and piecewise responses differ");
        check(whole.isIdle() == pieces.isIdle(), "whole and piecewise idle states differ");
    }
    for (const HttpResponse &response : wholeResponses) {
        check(response.status >= 200 && response.status <= 999 && response.status != 101,
            "a response with an impossible status");
        check(response.body.size() <= HttpResponseParser::MaxBodyBytes, "body over its limit");
    }

    const qsizetype before = wholeResponses.size();
    const bool finishedOk = whole.finish(&wholeResponses);
    const bool pieceFinishedOk = pieces.finish(&pieceResponses);
    if (wholeOk) {
        check(finishedOk == pieceFinishedOk, "whole and piecewise finish() disagree");
        check(same(wholeResponses, pieceResponses), "responses differ after finish()");
    } else {
        check(!finishedOk && wholeResponses.size() == before, "a failed parser came back");
    }
    return 0;
}
