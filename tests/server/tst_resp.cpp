// The RESP parser and encoder: every reply type fed whole, byte by byte and split
// at every boundary; nested aggregates, nulls, errors, RESP3 pushes; malformed and
// hostile input ending in a clear protocol error.
#include "resp.h"

#include <QtTest>

#include <cmath>

using namespace Qt::StringLiterals;
using namespace parley::server::redis;
using T = RespValue::Type;

Q_DECLARE_METATYPE(parley::server::redis::RespValue)

namespace {

RespValue agg(T type, std::vector<RespValue> elements)
{
    return RespValue::aggregate(type, std::move(elements));
}

RespValue dbl(double v)
{
    RespValue r;
    r.type = T::Double;
    r.number = v;
    return r;
}

RespValue boolean(bool b)
{
    RespValue r;
    r.type = T::Boolean;
    r.boolean = b;
    return r;
}

// Every complete value the parser yields for `wire` fed in the given pieces.
QList<RespValue> parseInPieces(const QList<QByteArray> &pieces, QString *error = nullptr)
{
    RespParser parser;
    QList<RespValue> values;
    for (const QByteArray &piece : pieces) {
        parser.feed(piece);
        RespValue value;
        for (;;) {
            const RespParser::Status status = parser.next(&value);
            if (status == RespParser::Status::Value) {
                values.append(value);
                continue;
            }
            if (status == RespParser::Status::Error && error)
                *error = parser.errorString();
            break;
        }
    }
    return values;
}

} // namespace

class tst_Resp : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void replies_data();
    void replies();
    void severalRepliesInOneRead();
    void malformed_data();
    void malformed();
    void limits_data();
    void limits();
    void failedParserStaysFailed();
    void encodeCommand_data();
    void encodeCommand();
};

void tst_Resp::replies_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<RespValue>("expected");

    QTest::newRow("simple") << "+OK\r\n"_ba << RespValue::simple("OK");
    QTest::newRow("simple empty") << "+\r\n"_ba << RespValue::simple("");
    QTest::newRow("error") << "-ERR unknown command 'FOO'\r\n"_ba
                           << RespValue::error("ERR unknown command 'FOO'");
    QTest::newRow("integer") << ":1000\r\n"_ba << RespValue::integerValue(1000);
    QTest::newRow("negative integer") << ":-42\r\n"_ba << RespValue::integerValue(-42);
    QTest::newRow("int64 max") << ":9223372036854775807\r\n"_ba
                               << RespValue::integerValue(std::numeric_limits<qint64>::max());
    QTest::newRow("bulk") << "$5\r\nhello\r\n"_ba << RespValue::bulk("hello");
    QTest::newRow("bulk empty") << "$0\r\n\r\n"_ba << RespValue::bulk("");
    QTest::newRow("bulk with CRLF inside") << "$4\r\na\r\nb\r\n"_ba << RespValue::bulk("a\r\nb");
    QTest::newRow("bulk binary") << QByteArray("$3\r\n\0\xff\x01\r\n", 9)
                                 << RespValue::bulk(QByteArray("\0\xff\x01", 3));
    QTest::newRow("null bulk") << "$-1\r\n"_ba << RespValue::null();
    QTest::newRow("null array") << "*-1\r\n"_ba << RespValue::null();
    QTest::newRow("resp3 null") << "_\r\n"_ba << RespValue::null();
    QTest::newRow("empty array") << "*0\r\n"_ba << agg(T::Array, {});
    QTest::newRow("array") << "*2\r\n$3\r\nfoo\r\n:7\r\n"_ba
                           << agg(T::Array, {RespValue::bulk("foo"), RespValue::integerValue(7)});
    QTest::newRow("array with nulls")
        << "*3\r\n$-1\r\n*-1\r\n_\r\n"_ba
        << agg(T::Array, {RespValue::null(), RespValue::null(), RespValue::null()});
    QTest::newRow("nested arrays")
        << "*2\r\n*2\r\n:1\r\n*1\r\n+x\r\n*0\r\n"_ba
        << agg(T::Array,
               {agg(T::Array,
                    {RespValue::integerValue(1), agg(T::Array, {RespValue::simple("x")})}),
                   agg(T::Array, {})});
    QTest::newRow("error inside array")
        << "*2\r\n+OK\r\n-WRONGTYPE bad\r\n"_ba
        << agg(T::Array, {RespValue::simple("OK"), RespValue::error("WRONGTYPE bad")});
    QTest::newRow("true") << "#t\r\n"_ba << boolean(true);
    QTest::newRow("false") << "#f\r\n"_ba << boolean(false);
    QTest::newRow("double") << ",3.25\r\n"_ba << dbl(3.25);
    QTest::newRow("double exponent") << ",1.5e3\r\n"_ba << dbl(1500);
    QTest::newRow("double inf") << ",inf\r\n"_ba << dbl(HUGE_VAL);
    QTest::newRow("double -inf") << ",-inf\r\n"_ba << dbl(-HUGE_VAL);
    {
        RespValue big;
        big.type = T::BigNumber;
        big.string = "3492890328409238509324850943850943825024385";
        QTest::newRow("big number") << "(3492890328409238509324850943850943825024385\r\n"_ba << big;
    }
    QTest::newRow("blob error") << "!21\r\nSYNTAX invalid syntax\r\n"_ba
                                << RespValue::error("SYNTAX invalid syntax");
    QTest::newRow("verbatim") << "=15\r\ntxt:Some string\r\n"_ba << RespValue::bulk("Some string");
    QTest::newRow("map") << "%2\r\n+first\r\n:1\r\n+second\r\n#f\r\n"_ba
                         << agg(T::Map,
                                {RespValue::simple("first"), RespValue::integerValue(1),
                                    RespValue::simple("second"), boolean(false)});
    QTest::newRow("set") << "~2\r\n+a\r\n+b\r\n"_ba
                         << agg(T::Set, {RespValue::simple("a"), RespValue::simple("b")});
    QTest::newRow("push message") << ">3\r\n$7\r\nmessage\r\n$6\r\nparley\r\n$5\r\nhello\r\n"_ba
                                  << agg(T::Push,
                                         {RespValue::bulk("message"), RespValue::bulk("parley"),
                                             RespValue::bulk("hello")});
    QTest::newRow("resp2 pubsub message")
        << "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$0\r\n\r\n"_ba
        << agg(T::Array, {RespValue::bulk("message"), RespValue::bulk("c"), RespValue::bulk("")});
    QTest::newRow("attribute dropped before value")
        << "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n"_ba
        << agg(T::Array, {RespValue::integerValue(2)});
    QTest::newRow("attribute inside array")
        << "*2\r\n:1\r\n|1\r\n+ttl\r\n:5\r\n:2\r\n"_ba
        << agg(T::Array, {RespValue::integerValue(1), RespValue::integerValue(2)});
    QTest::newRow("hello reply map")
        << "%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nmodules\r\n*0\r\n"_ba
        << agg(T::Map,
               {RespValue::bulk("server"), RespValue::bulk("redis"), RespValue::bulk("modules"),
                   agg(T::Array, {})});
}

void tst_Resp::replies()
{
    QFETCH(QByteArray, wire);
    QFETCH(RespValue, expected);

    // Whole, then byte by byte, then split in two at every boundary.
    QString error;
    QList<RespValue> whole = parseInPieces({wire}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(whole.size(), 1);
    QVERIFY2(whole.first() == expected, qPrintable(describe(whole.first())));

    QList<QByteArray> bytes;
    for (char c : wire)
        bytes.append(QByteArray(1, c));
    const QList<RespValue> trickled = parseInPieces(bytes);
    QCOMPARE(trickled.size(), 1);
    QVERIFY2(trickled.first() == expected, qPrintable(describe(trickled.first())));

    for (qsizetype split = 1; split < wire.size(); ++split) {
        const QList<RespValue> two = parseInPieces({wire.left(split), wire.mid(split)});
        QVERIFY2(two.size() == 1, qPrintable(u"split at %1"_s.arg(split)));
        QVERIFY2(two.first() == expected, qPrintable(u"split at %1"_s.arg(split)));
    }
}

void tst_Resp::severalRepliesInOneRead()
{
    const QByteArray wire = "+OK\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n>2\r\n+p\r\n+q\r\n-ERR x\r\n"_ba;
    const QList<RespValue> expected {RespValue::simple("OK"), RespValue::integerValue(1),
        agg(T::Array, {RespValue::bulk("a"), RespValue::null()}),
        agg(T::Push, {RespValue::simple("p"), RespValue::simple("q")}), RespValue::error("ERR x")};
    QCOMPARE(parseInPieces({wire}), expected);
    for (qsizetype split = 1; split < wire.size(); ++split)
        QCOMPARE(parseInPieces({wire.left(split), wire.mid(split)}), expected);
}

void tst_Resp::malformed_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<QString>("error");

    QTest::newRow("unknown type byte") << "?what\r\n"_ba << u"unexpected type byte 0x3f"_s;
    QTest::newRow("integer with letters") << ":12a\r\n"_ba << u"'12a' is not an integer"_s;
    QTest::newRow("empty integer") << ":\r\n"_ba << u"'' is not an integer"_s;
    QTest::newRow("bulk length not a number") << "$x\r\n"_ba << u"'x' is not a valid length"_s;
    QTest::newRow("bulk negative length") << "$-2\r\n"_ba << u"negative length -2"_s;
    QTest::newRow("bulk without CRLF")
        << "$3\r\nabcXY"_ba << u"a bulk string not followed by CRLF"_s;
    QTest::newRow("array negative count") << "*-5\r\n"_ba << u"negative element count -5"_s;
    QTest::newRow("map null") << "%-1\r\n"_ba << u"negative element count -1"_s;
    QTest::newRow("bad boolean") << "#x\r\n"_ba << u"a boolean must be #t or #f"_s;
    QTest::newRow("bad double") << ",1.2.3\r\n"_ba << u"'1.2.3' is not a double"_s;
    QTest::newRow("null with content") << "_x\r\n"_ba << u"a null (_) with content"_s;
    QTest::newRow("bad big number") << "(12x\r\n"_ba << u"'12x' is not a big number"_s;
    QTest::newRow("verbatim without format")
        << "=2\r\nab\r\n"_ba << u"a verbatim string without its 3-letter format"_s;
    QTest::newRow("garbage inside array")
        << "*2\r\n:1\r\nHELLO\r\n"_ba << u"unexpected type byte 0x48"_s;
}

void tst_Resp::malformed()
{
    QFETCH(QByteArray, wire);
    QFETCH(QString, error);

    for (qsizetype split = 1; split <= wire.size(); ++split) {
        QString got;
        const QList<RespValue> values = parseInPieces({wire.left(split), wire.mid(split)}, &got);
        QVERIFY(values.isEmpty());
        QCOMPARE(got, u"RESP protocol error: "_s + error);
    }
}

void tst_Resp::limits_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<QString>("error");

    RespLimits defaults;
    QTest::newRow("huge bulk announced")
        << "$99999999999\r\n"_ba
        << u"a bulk string of 99999999999 bytes exceeds the limit of %1"_s.arg(
               defaults.maxBulkBytes);
    QTest::newRow("huge array announced")
        << "*2000000\r\n"_ba << u"a reply of more than %1 elements"_s.arg(defaults.maxElements);
    QTest::newRow("huge map announced")
        << "%600000\r\n"_ba << u"a reply of more than %1 elements"_s.arg(defaults.maxElements);
    QByteArray deep;
    for (int i = 0; i < 17; ++i)
        deep += "*1\r\n";
    QTest::newRow("nested too deep") << deep << u"aggregates nested deeper than 16"_s;
    QTest::newRow("endless line") << QByteArray("+") + QByteArray(70 * 1024, 'a')
                                  << u"a line longer than 65536 bytes"_s;
    QTest::newRow("length too long to be a number")
        << "$123456789012345678901234\r\n"_ba
        << u"'123456789012345678901234' is not a valid length"_s;
}

void tst_Resp::limits()
{
    QFETCH(QByteArray, wire);
    QFETCH(QString, error);
    QString got;
    QVERIFY(parseInPieces({wire}, &got).isEmpty());
    QCOMPARE(got, u"RESP protocol error: "_s + error);
}

void tst_Resp::failedParserStaysFailed()
{
    RespParser parser;
    parser.feed("?bad\r\n+OK\r\n");
    RespValue value;
    QCOMPARE(parser.next(&value), RespParser::Status::Error);
    parser.feed("+OK\r\n");
    QCOMPARE(parser.next(&value), RespParser::Status::Error);
    parser.reset();
    parser.feed("+OK\r\n");
    QCOMPARE(parser.next(&value), RespParser::Status::Value);
    QCOMPARE(value, RespValue::simple("OK"));
    QCOMPARE(parser.next(&value), RespParser::Status::NeedMore);
}

void tst_Resp::encodeCommand_data()
{
    QTest::addColumn<QList<QByteArray>>("arguments");
    QTest::addColumn<QByteArray>("wire");
    QTest::newRow("ping") << QList<QByteArray> {"PING"} << "*1\r\n$4\r\nPING\r\n"_ba;
    QTest::newRow("publish binary")
        << QList<QByteArray> {"PUBLISH", "c", QByteArray("a\r\n\0", 4)}
        << QByteArray("*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$4\r\na\r\n\0\r\n", 34);
    QTest::newRow("empty argument")
        << QList<QByteArray> {"SET", "k", ""} << "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"_ba;
}

void tst_Resp::encodeCommand()
{
    QFETCH(QList<QByteArray>, arguments);
    QFETCH(QByteArray, wire);
    QCOMPARE(parley::server::redis::encodeCommand(arguments), wire);
    // What we send parses back as the array of bulk strings it is.
    std::vector<RespValue> bulks;
    for (const QByteArray &a : arguments)
        bulks.push_back(RespValue::bulk(a));
    const QList<RespValue> parsed = parseInPieces({wire});
    QCOMPARE(parsed.size(), 1);
    QVERIFY(parsed.first() == agg(T::Array, bulks));
    if (arguments.size() == 1)
        QCOMPARE(parley::server::redis::encodeCommand({QByteArrayView(arguments.first())}), wire);
}

QTEST_APPLESS_MAIN(tst_Resp)
#include "tst_resp.moc"
