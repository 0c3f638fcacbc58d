// Data-driven tests of the protocol codec: round trips of every frame type,
// canonical encoding, strict decoding with field-level errors, and the
// validation helpers shared with the server and client-core.
#include "codec.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace parley::protocol;

Q_DECLARE_METATYPE(parley::protocol::ClientFrame)
Q_DECLARE_METATYPE(parley::protocol::ServerFrame)
Q_DECLARE_METATYPE(parley::protocol::ErrorCode)

namespace {

const QString Emoji = u"\U0001F600"_s; // one code point, two UTF-16 units, four UTF-8 bytes

QString repeated(QStringView text, qsizetype times)
{
    return text.toString().repeated(times);
}

QByteArray repeatedBytes(char c, qsizetype times)
{
    return QByteArray(times, c);
}

QByteArray describe(const DecodeError &e)
{
    return (errorCodeName(e.code) + u" field='"_s + e.field + u"' rid='"_s + e.rid + u"' type='"_s
        + e.type + u"': "_s + e.message)
        .toUtf8();
}

// What a decode produced, for failure messages (QVERIFY2 evaluates them eagerly).
template<typename Frame> QByteArray describe(const Decoded<Frame> &decoded)
{
    return decoded.ok() ? "decoded " + encode(decoded.value()) : describe(decoded.error());
}

// A send frame whose body is the given raw bytes, spliced into the JSON text.
QByteArray sendWithBody(const QByteArray &body)
{
    return R"({"type":"send","rid":"r1","to":"bob","cid":"c1","body":")"_ba + body + R"("})"_ba;
}

QByteArray registerWithUser(const QByteArray &user)
{
    return R"({"type":"register","rid":"r1","user":)"_ba + user + R"(,"password":"pw"})"_ba;
}

QByteArray receiptWithUpTo(const QByteArray &upTo)
{
    return R"({"type":"receipt","conv":"alice:bob","kind":"read","upTo":)"_ba + upTo + "}"_ba;
}

QByteArray receiptWithConv(const QByteArray &conv)
{
    return R"({"type":"receipt","conv":)"_ba + conv + R"(,"kind":"read","upTo":3})"_ba;
}

QByteArray watchOf(qsizetype count)
{
    QByteArray users;
    for (qsizetype i = 0; i < count; ++i)
        users += (i ? ",\"u"_ba : "\"u"_ba) + QByteArray::number(i) + "\""_ba;
    return R"({"type":"watch","users":[)"_ba + users + "]}"_ba;
}

// {"type":"sync"} with an ignored field of arrays nested so that the frame has `depth`
// levels of objects and arrays, its own object included.
QByteArray syncNested(qsizetype depth)
{
    return R"({"type":"sync","x":)"_ba + repeatedBytes('[', depth - 1)
        + repeatedBytes(']', depth - 1) + "}"_ba;
}

// {"type":"sync"} padded with an ignored field to exactly `size` bytes.
QByteArray paddedSync(qsizetype size)
{
    const QByteArray head = R"({"type":"sync","pad":")"_ba;
    const QByteArray tail = R"("})"_ba;
    return head + repeatedBytes('x', size - head.size() - tail.size()) + tail;
}

Message message(qint64 seq, const QString &body)
{
    return Message {.conv = u"alice:bob"_s,
        .seq = seq,
        .from = u"alice"_s,
        .to = u"bob"_s,
        .cid = u"cid-"_s + QString::number(seq),
        .body = body,
        .ts = 1700000000000 + seq};
}

Message gap(qint64 seq)
{
    return Message {.seq = seq, .gap = true};
}

void addError(const char *name, const QByteArray &input, ErrorCode code, const QString &field)
{
    QTest::newRow(name) << input << code << field;
}

} // namespace

class TestCodec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void newCidsAreVersion7AndSortByTime();
    void clientRoundTrip_data();
    void clientRoundTrip();
    void serverRoundTrip_data();
    void serverRoundTrip();
    void clientEncoding_data();
    void clientEncoding();
    void serverEncoding_data();
    void serverEncoding();
    void clientDecode_data();
    void clientDecode();
    void serverDecode_data();
    void serverDecode();
    void clientErrors_data();
    void clientErrors();
    void serverErrors_data();
    void serverErrors();
    void ridRecovered_data();
    void ridRecovered();
    void everyTruncationFails_data();
    void everyTruncationFails();
    void mutatedFramesNeverCrash();
    void errorCodeNames_data();
    void errorCodeNames();
    void conversationId_data();
    void conversationId();
    void conversationMembers_data();
    void conversationMembers();
    void codePointCount_data();
    void codePointCount();
    void normalizeUserName_data();
    void normalizeUserName();
    void bodyProblem_data();
    void bodyProblem();
};

// ---- round trips -----------------------------------------------------------

void TestCodec::newCidsAreVersion7AndSortByTime()
{
    const QString first = newCid();
    QCOMPARE(first.size(), 36);
    QCOMPARE(first.at(14), u'7'); // version
    QVERIFY(QStringView(u"89ab").contains(first.at(19))); // variant 10
    // The first 48 bits are the time in milliseconds.
    const qint64 ms = first.first(8).append(first.sliced(9, 4)).toLongLong(nullptr, 16);
    QVERIFY(qAbs(ms - QDateTime::currentMSecsSinceEpoch()) < 60000);
    // A send frame takes it as its cid.
    const QByteArray frame = R"({"type":"send","rid":"r1","to":"bob","cid":")" + first.toLatin1()
        + R"(","body":"hi"})";
    QVERIFY(decodeClientFrame(frame).ok());
    // A cid from a later millisecond sorts after, so one sender's cids grow in order.
    const qint64 start = QDateTime::currentMSecsSinceEpoch();
    while (QDateTime::currentMSecsSinceEpoch() == start) { }
    QVERIFY(first < newCid());
    QVERIFY(newCid() != newCid());
}

void TestCodec::clientRoundTrip_data()
{
    QTest::addColumn<ClientFrame>("frame");

    QTest::newRow("register") << ClientFrame(
        Register {u"1"_s, u"alice"_s, u"correct horse"_s, u"laptop"_s});
    QTest::newRow("register max lengths")
        << ClientFrame(Register {repeated(u"r", MaxIdChars), repeated(u"a", MaxUserChars),
               repeated(u"p", MaxPasswordBytes), repeated(u"d", MaxIdChars)});
    QTest::newRow("register emoji password of 1024 bytes") << ClientFrame(
        Register {u"2"_s, u"b0b_.-"_s, repeated(Emoji, MaxPasswordBytes / 4), u"default"_s});
    QTest::newRow("register unicode device")
        << ClientFrame(Register {u"3"_s, u"zoe"_s, u"pässwörd"_s, u"Élodie’s phone "_s + Emoji});
    QTest::newRow("register 64 emoji device")
        << ClientFrame(Register {u"r"_s, u"zoe"_s, u"pw"_s, repeated(Emoji, MaxIdChars)});
    QTest::newRow("login") << ClientFrame(Login {u"1"_s, u"alice"_s, u"pw"_s, u"default"_s});
    QTest::newRow("login without rid") << ClientFrame(Login {{}, u"al"_s, u"x"_s, u"desk"_s});
    QTest::newRow("resume") << ClientFrame(Resume {u"1"_s, u"dG9rZW4uYWJjZGVm"_s});
    QTest::newRow("resume 256 printable")
        << ClientFrame(Resume {u"9"_s, repeated(u"!~ a", MaxTokenChars / 4)});
    QTest::newRow("logout") << ClientFrame(Logout {u"9"_s});
    QTest::newRow("logout without rid") << ClientFrame(Logout {});
    QTest::newRow("send") << ClientFrame(Send {u"7"_s, u"bob"_s, u"c-1"_s, u"hi"_s});
    QTest::newRow("send unicode") << ClientFrame(
        Send {u"7"_s, u"bob"_s, u"c-2"_s, u"Grüße, 世界! "_s + Emoji + u"\t\r\nend"_s});
    QTest::newRow("send 4000 ascii") << ClientFrame(
        Send {u"8"_s, u"bob"_s, repeated(u"c", MaxIdChars), repeated(u"a", MaxBodyChars)});
    QTest::newRow("send 4000 emoji") << ClientFrame(Send {
        {}, u"bob"_s, u"550e8400-e29b-41d4-a716-446655440000"_s, repeated(Emoji, MaxBodyChars)});
    QTest::newRow("send json specials") << ClientFrame(
        Send {u"q\"\\"_s, u"bob"_s, u"{}[]\"\\"_s, u"\"quoted\" \\ back/slash </script>"_s});
    QTest::newRow("receipt delivered")
        << ClientFrame(ReceiptRequest {u"1"_s, u"alice:bob"_s, ReceiptKind::Delivered, 42});
    QTest::newRow("receipt read max")
        << ClientFrame(ReceiptRequest {{}, u"a.b:a_b"_s, ReceiptKind::Read, MaxSafeInteger});
    QTest::newRow("receipt upTo 0")
        << ClientFrame(ReceiptRequest {u"1"_s, u"alice:bob"_s, ReceiptKind::Read, 0});
    QTest::newRow("sync") << ClientFrame(SyncRequest {u"2"_s});
    QTest::newRow("sync without rid") << ClientFrame(SyncRequest {});
    QTest::newRow("history after")
        << ClientFrame(HistoryRequest {u"3"_s, u"alice:bob"_s, 40, std::nullopt, 100});
    QTest::newRow("history before")
        << ClientFrame(HistoryRequest {u"3"_s, u"alice:bob"_s, std::nullopt, 40, 1});
    QTest::newRow("history newest")
        << ClientFrame(HistoryRequest {u"3"_s, u"alice:bob"_s, std::nullopt, std::nullopt, 1000});
    QTest::newRow("typing start") << ClientFrame(TypingRequest {{}, u"bob"_s, TypingState::Start});
    QTest::newRow("typing stop") << ClientFrame(
        TypingRequest {u"t"_s, u"bob"_s, TypingState::Stop});
    QTest::newRow("watch one") << ClientFrame(Watch {u"w"_s, {u"bob"_s}});
    QStringList many;
    for (int i = 0; i < MaxWatchUsers; ++i)
        many.append(u"user"_s + QString::number(i));
    QTest::newRow("watch max") << ClientFrame(Watch {u"w"_s, many});
    QTest::newRow("users") << ClientFrame(UsersRequest {u"4"_s, u"bo"_s, 20});
    QTest::newRow("users empty prefix") << ClientFrame(UsersRequest {u"4"_s, {}, 100});
    QTest::newRow("users max prefix")
        << ClientFrame(UsersRequest {u"4"_s, repeated(u"z", MaxUserChars), 1});
    QTest::newRow("search minimal") << ClientFrame(
        SearchRequest {u"5"_s, u"lunch"_s, std::nullopt, std::nullopt, 20, std::nullopt});
    QTest::newRow("search full") << ClientFrame(SearchRequest {
        u"5"_s, u"lunch friday"_s, u"alice:bob"_s, u"bob"_s, 100, u"opaque.cursor=="_s});
    QTest::newRow("search unicode 256") << ClientFrame(SearchRequest {
        u"5"_s, repeated(Emoji, 256), std::nullopt, std::nullopt, 1, repeated(u"c", 512)});
    QTest::newRow("search empty cursor")
        << ClientFrame(SearchRequest {u"5"_s, u"café"_s, std::nullopt, u"bob"_s, 20, QString()});
}

void TestCodec::clientRoundTrip()
{
    QFETCH(ClientFrame, frame);

    const QByteArray bytes = encode(frame);
    QVERIFY(bytes.size() <= MaxFrameBytes);
    const Decoded<ClientFrame> decoded = decodeClientFrame(bytes);
    QVERIFY2(decoded.ok(), describe(decoded).constData());
    QVERIFY2(decoded.value() == frame, encode(decoded.value()).constData());
    QCOMPARE(encode(decoded.value()), bytes);
    QCOMPARE(toJson(frame).value("type"_L1).toString(), frameTypeName(frame));
}

void TestCodec::serverRoundTrip_data()
{
    QTest::addColumn<ServerFrame>("frame");

    QTest::newRow("hello") << ServerFrame(Hello {1, u"parley/0.1.0"_s, u"node-a"_s, 65536, 4000});
    QTest::newRow("welcome") << ServerFrame(
        Welcome {u"1"_s, u"alice"_s, u"laptop"_s, u"tok"_s, 1700000000000});
    QTest::newRow("welcome unicode device") << ServerFrame(Welcome {
        {}, u"alice"_s, u"Téléphone "_s + Emoji, repeated(u"t", MaxTokenChars), MaxSafeInteger});
    QTest::newRow("ack") << ServerFrame(Ack {u"7"_s, u"c-1"_s, u"alice:bob"_s, 42, 1700000000000});
    QTest::newRow("ack dup") << ServerFrame(
        Ack {u"7"_s, u"c-1"_s, u"alice:bob"_s, 42, 1700000000000, true});
    QTest::newRow("msg") << ServerFrame(MessageEvent {message(42, u"hi"_s)});
    QTest::newRow("msg 4000 emoji")
        << ServerFrame(MessageEvent {message(1, repeated(Emoji, MaxBodyChars))});
    Message largest = message(MaxSafeInteger, u"naïve — ok\n"_s + Emoji);
    largest.ts = MaxSafeInteger;
    QTest::newRow("msg unicode, largest numbers") << ServerFrame(MessageEvent {largest});
    QTest::newRow("receipt delivered")
        << ServerFrame(ReceiptEvent {u"alice:bob"_s, u"bob"_s, ReceiptKind::Delivered, 42});
    QTest::newRow("receipt read") << ServerFrame(
        ReceiptEvent {u"alice:bob"_s, u"alice"_s, ReceiptKind::Read, 1});
    QTest::newRow("conversations empty") << ServerFrame(Conversations {u"2"_s, {}});
    QTest::newRow("conversations") << ServerFrame(Conversations {u"2"_s,
        {ConversationSummary {u"alice:bob"_s, u"bob"_s, 42, 40, 39, 42, 41, 1700000000000},
            ConversationSummary {u"alice:carol"_s, u"carol"_s, 0, 0, 0, 0, 0, 0}}});
    QTest::newRow("history") << ServerFrame(HistoryPage {
        u"3"_s, u"alice:bob"_s, {message(40, u"a"_s), gap(41), message(42, u"b"_s)}, true});
    QTest::newRow("history empty") << ServerFrame(HistoryPage {u"3"_s, u"alice:bob"_s, {}, false});
    QTest::newRow("history only gaps")
        << ServerFrame(HistoryPage {{}, u"alice:bob"_s, {gap(1), gap(2)}, false});
    QTest::newRow("typing start") << ServerFrame(TypingEvent {u"alice"_s, TypingState::Start});
    QTest::newRow("typing stop") << ServerFrame(TypingEvent {u"alice"_s, TypingState::Stop});
    QTest::newRow("presence online")
        << ServerFrame(PresenceEvent {u"bob"_s, PresenceState::Online, std::nullopt});
    QTest::newRow("presence offline")
        << ServerFrame(PresenceEvent {u"bob"_s, PresenceState::Offline, 1700000000000});
    QTest::newRow("presence offline never seen")
        << ServerFrame(PresenceEvent {u"bob"_s, PresenceState::Offline, std::nullopt});
    QTest::newRow("users") << ServerFrame(UsersPage {u"4"_s,
        {UserEntry {u"bob"_s, PresenceState::Online},
            UserEntry {u"bobby"_s, PresenceState::Offline}}});
    QTest::newRow("users empty") << ServerFrame(UsersPage {u"4"_s, {}});
    QTest::newRow("results") << ServerFrame(SearchResults {u"5"_s,
        {SearchHit {u"alice:bob"_s, 12, u"bob"_s, 1700000000000, u"lunch on friday?"_s,
            u"[lunch] on [friday]?"_s}},
        u"next-cursor"_s});
    QTest::newRow("results last page") << ServerFrame(SearchResults {u"5"_s, {}, std::nullopt});
    QTest::newRow("ok") << ServerFrame(Ok {u"9"_s});
    QTest::newRow("ok without rid") << ServerFrame(Ok {});
    QTest::newRow("error rate limited")
        << ServerFrame(Error {u"7"_s, ErrorCode::RateLimited, u"slow down"_s, 1000});
    QTest::newRow("error unicode message")
        << ServerFrame(Error {{}, ErrorCode::Internal, u"oops — "_s + Emoji, std::nullopt});
    QTest::newRow("error empty message") << ServerFrame(Error {{}, ErrorCode::Unavailable, {}, 0});
}

void TestCodec::serverRoundTrip()
{
    QFETCH(ServerFrame, frame);

    const QByteArray bytes = encode(frame);
    QVERIFY(bytes.size() <= MaxFrameBytes);
    const Decoded<ServerFrame> decoded = decodeServerFrame(bytes);
    QVERIFY2(decoded.ok(), describe(decoded).constData());
    QVERIFY2(decoded.value() == frame, encode(decoded.value()).constData());
    QCOMPARE(encode(decoded.value()), bytes);
    QCOMPARE(toJson(frame).value("type"_L1).toString(), frameTypeName(frame));
}

// ---- canonical encoding ----------------------------------------------------

void TestCodec::clientEncoding_data()
{
    QTest::addColumn<ClientFrame>("frame");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("register")
        << ClientFrame(Register {u"1"_s, u"alice"_s, u"pw"_s, u"laptop"_s})
        << R"({"type":"register","rid":"1","user":"alice","password":"pw","device":"laptop"})"_ba;
    QTest::newRow("send without rid omits rid")
        << ClientFrame(Send {{}, u"bob"_s, u"c1"_s, u"hi"_s})
        << R"({"type":"send","to":"bob","cid":"c1","body":"hi"})"_ba;
    QTest::newRow("history after only")
        << ClientFrame(HistoryRequest {u"3"_s, u"alice:bob"_s, 40, std::nullopt, 100})
        << R"({"type":"history","rid":"3","conv":"alice:bob","after":40,"limit":100})"_ba;
    QTest::newRow("search optionals omitted")
        << ClientFrame(SearchRequest {u"5"_s, u"x"_s, std::nullopt, std::nullopt, 20, std::nullopt})
        << R"({"type":"search","rid":"5","q":"x","limit":20})"_ba;
    QTest::newRow("receipt") << ClientFrame(ReceiptRequest {{}, u"alice:bob"_s, ReceiptKind::Read,
        42}) << R"({"type":"receipt","conv":"alice:bob","kind":"read","upTo":42})"_ba;
    QTest::newRow("watch") << ClientFrame(Watch {u"w"_s, {u"bob"_s, u"carol"_s}})
                           << R"({"type":"watch","rid":"w","users":["bob","carol"]})"_ba;
}

void TestCodec::clientEncoding()
{
    QFETCH(ClientFrame, frame);
    QFETCH(QByteArray, expected);

    const QJsonObject expectedObject = QJsonDocument::fromJson(expected).object();
    QVERIFY(!expectedObject.isEmpty());
    QVERIFY2(toJson(frame) == expectedObject, encode(frame).constData());
    // Compact: no whitespace or newline between tokens.
    QCOMPARE(encode(frame), QJsonDocument(expectedObject).toJson(QJsonDocument::Compact));
}

void TestCodec::serverEncoding_data()
{
    QTest::addColumn<ServerFrame>("frame");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("hello limits nested")
        << ServerFrame(Hello {1, u"parley/0.1.0"_s, u"n1"_s, 65536, 4000})
        << R"({"type":"hello","protocol":1,"server":"parley/0.1.0","node":"n1","limits":{"maxFrameBytes":65536,"maxBodyChars":4000}})"_ba;
    QTest::newRow("ack without dup")
        << ServerFrame(Ack {u"7"_s, u"c"_s, u"alice:bob"_s, 42, 1000})
        << R"({"type":"ack","rid":"7","cid":"c","conv":"alice:bob","seq":42,"ts":1000})"_ba;
    QTest::newRow("ack dup")
        << ServerFrame(Ack {u"7"_s, u"c"_s, u"alice:bob"_s, 42, 1000, true})
        << R"({"type":"ack","rid":"7","cid":"c","conv":"alice:bob","seq":42,"ts":1000,"dup":true})"_ba;
    QTest::newRow("msg")
        << ServerFrame(MessageEvent {
               Message {u"alice:bob"_s, 42, u"alice"_s, u"bob"_s, u"c"_s, u"hi"_s, 1000}})
        << R"({"type":"msg","conv":"alice:bob","seq":42,"from":"alice","to":"bob","cid":"c","body":"hi","ts":1000})"_ba;
    QTest::newRow("history messages without type, gap")
        << ServerFrame(HistoryPage {u"3"_s, u"alice:bob"_s,
               {Message {u"alice:bob"_s, 1, u"alice"_s, u"bob"_s, u"c"_s, u"hi"_s, 1000}, gap(2)},
               false})
        << R"({"type":"history","rid":"3","conv":"alice:bob","messages":[{"conv":"alice:bob","seq":1,"from":"alice","to":"bob","cid":"c","body":"hi","ts":1000},{"seq":2,"gap":true}],"more":false})"_ba;
    QTest::newRow("presence online without lastSeen")
        << ServerFrame(PresenceEvent {u"bob"_s, PresenceState::Online, std::nullopt})
        << R"({"type":"presence","user":"bob","state":"online"})"_ba;
    QTest::newRow("presence offline with lastSeen")
        << ServerFrame(PresenceEvent {u"bob"_s, PresenceState::Offline, 99})
        << R"({"type":"presence","user":"bob","state":"offline","lastSeen":99})"_ba;
    QTest::newRow("results next null")
        << ServerFrame(SearchResults {u"5"_s, {}, std::nullopt})
        << R"({"type":"results","rid":"5","hits":[],"next":null})"_ba;
    QTest::newRow("error minimal")
        << ServerFrame(Error {{}, ErrorCode::UnknownType, u"what?"_s, std::nullopt})
        << R"({"type":"error","code":"unknown_type","message":"what?"})"_ba;
    QTest::newRow("error full")
        << ServerFrame(Error {u"7"_s, ErrorCode::RateLimited, u"later"_s, 1000})
        << R"({"type":"error","rid":"7","code":"rate_limited","message":"later","retryAfterMs":1000})"_ba;
    QTest::newRow("ok") << ServerFrame(Ok {u"9"_s}) << R"({"type":"ok","rid":"9"})"_ba;
}

void TestCodec::serverEncoding()
{
    QFETCH(ServerFrame, frame);
    QFETCH(QByteArray, expected);

    const QJsonObject expectedObject = QJsonDocument::fromJson(expected).object();
    QVERIFY(!expectedObject.isEmpty());
    QVERIFY2(toJson(frame) == expectedObject, encode(frame).constData());
    QCOMPARE(encode(frame), QJsonDocument(expectedObject).toJson(QJsonDocument::Compact));
}

// ---- decoding what peers may send -----------------------------------------

void TestCodec::clientDecode_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<ClientFrame>("expected");

    QTest::newRow("uppercase user lowercased")
        << R"({"type":"login","user":"ALICE","password":"pw"})"_ba
        << ClientFrame(Login {{}, u"alice"_s, u"pw"_s, u"default"_s});
    QTest::newRow("mixed case to lowercased")
        << R"({"type":"send","to":"BoB.Smith","cid":"c","body":"x"})"_ba
        << ClientFrame(Send {{}, u"bob.smith"_s, u"c"_s, u"x"_s});
    QTest::newRow("device defaults")
        << R"({"type":"register","rid":"1","user":"alice","password":"pw"})"_ba
        << ClientFrame(Register {u"1"_s, u"alice"_s, u"pw"_s, u"default"_s});
    QTest::newRow("history limit defaults to 50")
        << R"({"type":"history","conv":"alice:bob"})"_ba
        << ClientFrame(HistoryRequest {{}, u"alice:bob"_s, std::nullopt, std::nullopt, 50});
    QTest::newRow("history limit over the maximum is capped")
        << R"({"type":"history","conv":"alice:bob","limit":1000000})"_ba
        << ClientFrame(HistoryRequest {{}, u"alice:bob"_s, std::nullopt, std::nullopt, 1000});
    QTest::newRow("users limit capped at 100")
        << R"({"type":"users","limit":101})"_ba << ClientFrame(UsersRequest {{}, {}, 100});
    QTest::newRow("search limit capped at 100")
        << R"({"type":"search","q":"a","limit":5000})"_ba
        << ClientFrame(SearchRequest {{}, u"a"_s, std::nullopt, {}, 100, std::nullopt});
    QTest::newRow("users defaults, prefix lowercased")
        << R"({"type":"users","prefix":"Bo"})"_ba << ClientFrame(UsersRequest {{}, u"bo"_s, 20});
    QTest::newRow("users without prefix")
        << R"({"type":"users"})"_ba << ClientFrame(UsersRequest {{}, {}, 20});
    QTest::newRow("search limit defaults to 20, from lowercased")
        << R"({"type":"search","q":"Lunch","from":"BOB"})"_ba
        << ClientFrame(SearchRequest {{}, u"Lunch"_s, std::nullopt, u"bob"_s, 20, std::nullopt});
    QTest::newRow("watch lowercased and deduplicated")
        << R"({"type":"watch","users":["Bob","carol","bob","CAROL","dave"]})"_ba
        << ClientFrame(Watch {{}, {u"bob"_s, u"carol"_s, u"dave"_s}});
    QTest::newRow("unknown fields ignored")
        << R"({"type":"sync","rid":"2","future":{"x":[1,2]},"v":2})"_ba
        << ClientFrame(SyncRequest {u"2"_s});
    QTest::newRow("whitespace around") << " \n\t{ \"type\" : \"logout\" , \"rid\" : \"9\" }\r\n "_ba
                                       << ClientFrame(Logout {u"9"_s});
    QTest::newRow("integral float accepted") << receiptWithUpTo(
        "42.0"_ba) << ClientFrame(ReceiptRequest {{}, u"alice:bob"_s, ReceiptKind::Read, 42});
    QTest::newRow("exponent integral accepted") << receiptWithUpTo(
        "1e3"_ba) << ClientFrame(ReceiptRequest {{}, u"alice:bob"_s, ReceiptKind::Read, 1000});
    QTest::newRow("max safe integer accepted")
        << receiptWithUpTo("9007199254740991"_ba)
        << ClientFrame(ReceiptRequest {{}, u"alice:bob"_s, ReceiptKind::Read, MaxSafeInteger});
    QTest::newRow("escaped surrogate pair is one emoji") << sendWithBody(
        R"(\ud83d\ude00)"_ba) << ClientFrame(Send {u"r1"_s, u"bob"_s, u"c1"_s, Emoji});
    // Raw control characters are not JSON (RFC 8259 section 7): see "body raw tab".
    QTest::newRow("escaped control whitespace in body") << sendWithBody(
        "a\\tb\\n\\r\\tc"_ba) << ClientFrame(Send {u"r1"_s, u"bob"_s, u"c1"_s, u"a\tb\n\r\tc"_s});
    QTest::newRow("4000 code point body")
        << sendWithBody(repeatedBytes('a', MaxBodyChars))
        << ClientFrame(Send {u"r1"_s, u"bob"_s, u"c1"_s, repeated(u"a", MaxBodyChars)});
    QTest::newRow("4000 emoji body")
        << sendWithBody(repeated(Emoji, MaxBodyChars).toUtf8())
        << ClientFrame(Send {u"r1"_s, u"bob"_s, u"c1"_s, repeated(Emoji, MaxBodyChars)});
    QTest::newRow("exactly 64 KiB") << paddedSync(MaxFrameBytes) << ClientFrame(SyncRequest {});
    QTest::newRow("2 char user") << R"({"type":"typing","to":"ab","state":"stop"})"_ba
                                 << ClientFrame(TypingRequest {{}, u"ab"_s, TypingState::Stop});

    // Strict JSON (issue 18): what RFC 8259 allows still decodes.
    QTest::newRow("raw U+FEFF at the start of a body is kept") << sendWithBody(
        "\xEF\xBB\xBFhi"_ba) << ClientFrame(Send {u"r1"_s, u"bob"_s, u"c1"_s, u"\uFEFFhi"_s});
    QTest::newRow("escaped U+FEFF at the start of a body is kept") << sendWithBody(
        R"(\ufeffhi)"_ba) << ClientFrame(Send {u"r1"_s, u"bob"_s, u"c1"_s, u"\uFEFFhi"_s});
    QTest::newRow("escaped solidus")
        << sendWithBody(R"(a\/b)"_ba) << ClientFrame(Send {u"r1"_s, u"bob"_s, u"c1"_s, u"a/b"_s});
    QTest::newRow("quote and backslash escapes in body")
        << sendWithBody(R"(\"\\)"_ba) << ClientFrame(Send {u"r1"_s, u"bob"_s, u"c1"_s, u"\"\\"_s});
    QTest::newRow("every short escape in an ignored field")
        << R"({"type":"sync","x":"\"\\\/\b\f\n\r\t"})"_ba << ClientFrame(SyncRequest {});
    QTest::newRow("escaped surrogate pair, upper case hex") << sendWithBody(
        R"(\uD83D\uDE00)"_ba) << ClientFrame(Send {u"r1"_s, u"bob"_s, u"c1"_s, Emoji});
    QTest::newRow("escaped key") << R"({"typ\u0065":"logout","rid":"9"})"_ba
                                 << ClientFrame(Logout {u"9"_s});
    QTest::newRow("escaped NUL in an ignored field is data")
        << R"({"type":"sync","x":"\u0000"})"_ba << ClientFrame(SyncRequest {});
    QTest::newRow("exponent with sign") << receiptWithUpTo(
        "1E+2"_ba) << ClientFrame(ReceiptRequest {{}, u"alice:bob"_s, ReceiptKind::Read, 100});
    QTest::newRow("negative exponent") << receiptWithUpTo(
        "500e-1"_ba) << ClientFrame(ReceiptRequest {{}, u"alice:bob"_s, ReceiptKind::Read, 50});
    QTest::newRow("fraction with exponent") << receiptWithUpTo(
        "0.5e1"_ba) << ClientFrame(ReceiptRequest {{}, u"alice:bob"_s, ReceiptKind::Read, 5});
    QTest::newRow("minus zero") << receiptWithUpTo(
        "-0"_ba) << ClientFrame(ReceiptRequest {{}, u"alice:bob"_s, ReceiptKind::Read, 0});
    QTest::newRow("nesting at the depth limit")
        << syncNested(MaxJsonDepth) << ClientFrame(SyncRequest {});
    QTest::newRow("numbers, literals and empty containers ignored")
        << R"({"type":"sync","x":[0,-1,1.5,2e-3,true,false,null,{},[],""]})"_ba
        << ClientFrame(SyncRequest {});
}

void TestCodec::clientDecode()
{
    QFETCH(QByteArray, input);
    QFETCH(ClientFrame, expected);

    const Decoded<ClientFrame> decoded = decodeClientFrame(input);
    QVERIFY2(decoded.ok(), describe(decoded).constData());
    QVERIFY2(decoded.value() == expected, encode(decoded.value()).constData());
}

void TestCodec::serverDecode_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<ServerFrame>("expected");

    // The 64 KiB limit is what the server accepts; a client reads bigger server frames.
    {
        QList<Message> messages;
        QByteArray json = R"({"type":"history","conv":"alice:bob","more":false,"messages":[)"_ba;
        for (int seq = 1; seq <= 40; ++seq) {
            const QString body(4000, u'\u00e9');
            messages.append(Message {u"alice:bob"_s, seq, u"alice"_s, u"bob"_s,
                u"c"_s + QString::number(seq), body, 1700000000000});
            json += (seq > 1 ? ","_ba : ""_ba) + R"({"conv":"alice:bob","seq":)"_ba
                + QByteArray::number(seq) + R"(,"from":"alice","to":"bob","cid":"c)"_ba
                + QByteArray::number(seq) + R"(","body":")"_ba + body.toUtf8()
                + R"(","ts":1700000000000})"_ba;
        }
        json += "]}"_ba;
        QTest::newRow("history page over 64 KiB")
            << json << ServerFrame(HistoryPage {{}, u"alice:bob"_s, messages, false});
    }
    QTest::newRow("results next absent is null")
        << R"({"type":"results","rid":"5","hits":[]})"_ba
        << ServerFrame(SearchResults {u"5"_s, {}, std::nullopt});
    QTest::newRow("ack dup false")
        << R"({"type":"ack","cid":"c","conv":"alice:bob","seq":1,"ts":2,"dup":false})"_ba
        << ServerFrame(Ack {{}, u"c"_s, u"alice:bob"_s, 1, 2, false});
    QTest::newRow("history gap with extra fields")
        << R"({"type":"history","conv":"alice:bob","messages":[{"seq":3,"gap":true,"x":1}],"more":false})"_ba
        << ServerFrame(HistoryPage {{}, u"alice:bob"_s, {gap(3)}, false});
    QTest::newRow("error unknown fields ignored")
        << R"({"type":"error","code":"not_found","message":"no such user","hint":"x"})"_ba
        << ServerFrame(Error {{}, ErrorCode::NotFound, u"no such user"_s, std::nullopt});
}

void TestCodec::serverDecode()
{
    QFETCH(QByteArray, input);
    QFETCH(ServerFrame, expected);

    const Decoded<ServerFrame> decoded = decodeServerFrame(input);
    QVERIFY2(decoded.ok(), describe(decoded).constData());
    QVERIFY2(decoded.value() == expected, encode(decoded.value()).constData());
}

// ---- malformed input -------------------------------------------------------

void TestCodec::clientErrors_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("field");

    const auto bad = ErrorCode::BadRequest;
    const QString frame; // the frame as a whole

    // Not a JSON object at all.
    addError("empty", {}, bad, frame);
    addError("whitespace only", " \n "_ba, bad, frame);
    addError("truncated object", R"({"type":"sync")"_ba, bad, frame);
    addError("truncated string", R"({"type":"send","to":"bo)"_ba, bad, frame);
    addError("array", R"([{"type":"sync"}])"_ba, bad, frame);
    addError("string", R"("sync")"_ba, bad, frame);
    addError("number", "42"_ba, bad, frame);
    addError("null", "null"_ba, bad, frame);
    addError("trailing garbage", R"({"type":"sync"}x)"_ba, bad, frame);
    addError("two objects", R"({"type":"sync"}{"type":"sync"})"_ba, bad, frame);
    addError("trailing NUL", "{\"type\":\"sync\"}\0"_ba, bad, frame);
    addError("single quotes", "{'type':'sync'}"_ba, bad, frame);
    addError("number too big for a double", receiptWithUpTo("1e400"_ba), bad, frame);
    addError("deep nesting",
        R"({"type":"sync","x":)"_ba + repeatedBytes('[', 5000) + repeatedBytes(']', 5000) + "}"_ba,
        bad, frame);

    // Invalid UTF-8: QJsonDocument alone would turn these into U+FFFD.
    addError("utf8 bad continuation", sendWithBody("\xC3\x28"_ba), bad, frame);
    addError("utf8 0xFF", sendWithBody("\xFF"_ba), bad, frame);
    addError("utf8 overlong slash", sendWithBody("\xC0\xAF"_ba), bad, frame);
    addError("utf8 encoded surrogate", sendWithBody("\xED\xA0\x80"_ba), bad, frame);

    // Strict RFC 8259 (issue 18). QJsonDocument took the first five, raw control characters
    // and unpaired surrogates, and kept the last of duplicate keys.
    addError("invalid escape \\q", sendWithBody(R"(a\qb)"_ba), bad, frame);
    addError("invalid escape \\x", sendWithBody(R"(\x41)"_ba), bad, frame);
    addError("invalid escape \\'", sendWithBody(R"(it\'s)"_ba), bad, frame);
    addError("number without integer part", receiptWithUpTo(".5"_ba), bad, frame);
    addError("number without fraction digits", receiptWithUpTo("1."_ba), bad, frame);
    addError("invalid escape \\U", sendWithBody(R"(\U0041)"_ba), bad, frame);
    addError("short unicode escape", sendWithBody(R"(\u41)"_ba), bad, frame);
    addError("unicode escape not hex", sendWithBody(R"(\u00G1)"_ba), bad, frame);
    addError("escaped newline", sendWithBody("a\\\nb"_ba), bad, frame);
    addError("leading zero", receiptWithUpTo("01"_ba), bad, frame);
    addError("negative leading zero", receiptWithUpTo("-01"_ba), bad, frame);
    addError("plus sign", receiptWithUpTo("+1"_ba), bad, frame);
    addError("exponent without digits", receiptWithUpTo("1e"_ba), bad, frame);
    addError("exponent sign without digits", receiptWithUpTo("1e+"_ba), bad, frame);
    addError("fraction point before exponent", receiptWithUpTo("1.e5"_ba), bad, frame);
    addError("minus alone", receiptWithUpTo("-"_ba), bad, frame);
    addError("hexadecimal", receiptWithUpTo("0x10"_ba), bad, frame);
    addError("NaN", receiptWithUpTo("NaN"_ba), bad, frame);
    addError("Infinity", receiptWithUpTo("Infinity"_ba), bad, frame);
    addError("minus Infinity", receiptWithUpTo("-Infinity"_ba), bad, frame);
    addError("trailing comma in object", R"({"type":"sync",})"_ba, bad, frame);
    addError("trailing comma in array", R"({"type":"watch","users":["bob",]})"_ba, bad, frame);
    addError("leading comma", R"({,"type":"sync"})"_ba, bad, frame);
    addError("missing comma", R"({"type":"sync" "rid":"1"})"_ba, bad, frame);
    addError("missing colon", R"({"type" "sync"})"_ba, bad, frame);
    addError("unquoted key", R"({type:"sync"})"_ba, bad, frame);
    addError("line comment", "{\"type\":\"sync\"} // sync"_ba, bad, frame);
    addError("block comment", R"({/* c */"type":"sync"})"_ba, bad, frame);
    addError("literal in capitals", R"({"type":"sync","x":True})"_ba, bad, frame);
    addError("truncated literal", R"({"type":"sync","x":nul})"_ba, bad, frame);
    addError("raw NUL in a string", "{\"type\":\"sync\",\"x\":\"a\0b\"}"_ba, bad, frame);
    addError("raw newline in a string", "{\"type\":\"sync\",\"x\":\"a\nb\"}"_ba, bad, frame);
    addError("raw unit separator in a string", sendWithBody("a\x1F"_ba), bad, frame);
    addError("body raw tab", sendWithBody("a\tb"_ba), bad, frame);
    addError("byte order mark before the frame", "\xEF\xBB\xBF{\"type\":\"sync\"}"_ba, bad, frame);
    addError(
        "unpaired high surrogate before a letter", sendWithBody(R"(\ud800\u0041)"_ba), bad, frame);
    addError("duplicate key", R"({"type":"sync","type":"sync"})"_ba, bad, frame);
    addError("duplicate rid", R"({"type":"sync","rid":"1","rid":"2"})"_ba, bad, frame);
    addError("duplicate user", R"({"type":"login","user":"alice","user":"bob","password":"pw"})"_ba,
        bad, frame);
    addError(
        "duplicate key once unescaped", R"({"type":"logout","typ\u0065":"sync"})"_ba, bad, frame);
    addError("duplicate key in an ignored object", R"({"type":"sync","x":[{"a":1,"a":2}]})"_ba, bad,
        frame);
    addError("nesting past the depth limit", syncNested(MaxJsonDepth + 1), bad, frame);
    // A raw U+FEFF stays in the string (QJsonDocument dropped it after the quote and let
    // "\uFEFFbob" register as "bob"); the user name rules then refuse it.
    addError("user with raw U+FEFF first",
        registerWithUser("\"\xEF\xBB\xBF"
                         "bob\""_ba),
        bad, u"user"_s);
    addError(
        "user with escaped U+FEFF first", registerWithUser(R"("\ufeffbob")"_ba), bad, u"user"_s);
    addError("to with raw U+FEFF first",
        "{\"type\":\"send\",\"to\":\"\xEF\xBB\xBF"
        "bob\",\"cid\":\"c\",\"body\":\"x\"}"_ba,
        bad, u"to"_s);
    addError("utf8 above U+10FFFF", sendWithBody("\xF4\x90\x80\x80"_ba), bad, frame);
    addError("utf8 truncated sequence", sendWithBody("\xF0\x9F\x98"_ba), bad, frame);
    addError(
        "utf8 in ignored field", R"({"type":"sync","x":")"_ba + "\xFF"_ba + "\"}"_ba, bad, frame);

    // Size.
    addError("over 64 KiB", paddedSync(MaxFrameBytes + 1), ErrorCode::TooLarge, frame);
    addError("over 64 KiB garbage", repeatedBytes('\xFF', MaxFrameBytes * 2), ErrorCode::TooLarge,
        frame);

    // type
    addError("type missing", R"({"rid":"1"})"_ba, bad, u"type"_s);
    addError("type number", R"({"type":7})"_ba, bad, u"type"_s);
    addError("type null", R"({"type":null})"_ba, bad, u"type"_s);
    addError("type array", R"({"type":["sync"]})"_ba, bad, u"type"_s);
    addError("type unknown", R"({"type":"fly"})"_ba, ErrorCode::UnknownType, u"type"_s);
    addError("type empty", R"({"type":""})"_ba, ErrorCode::UnknownType, u"type"_s);
    addError("type is case sensitive", R"({"type":"Sync"})"_ba, ErrorCode::UnknownType, u"type"_s);
    addError("server type hello", R"({"type":"hello"})"_ba, ErrorCode::UnknownType, u"type"_s);
    addError("server type msg", R"({"type":"msg"})"_ba, ErrorCode::UnknownType, u"type"_s);

    // rid
    addError("rid number", R"({"type":"sync","rid":1})"_ba, bad, u"rid"_s);
    addError("rid null", R"({"type":"sync","rid":null})"_ba, bad, u"rid"_s);
    addError("rid empty", R"({"type":"sync","rid":""})"_ba, bad, u"rid"_s);
    addError("rid 65 chars", R"({"type":"sync","rid":")"_ba + repeatedBytes('r', 65) + "\"}"_ba,
        bad, u"rid"_s);
    addError("rid control char", R"({"type":"sync","rid":"a\u0007"})"_ba, bad, u"rid"_s);

    // register / login
    addError("user missing", R"({"type":"register","password":"pw"})"_ba, bad, u"user"_s);
    addError("user number", registerWithUser("12"_ba), bad, u"user"_s);
    addError("user null", registerWithUser("null"_ba), bad, u"user"_s);
    addError("user one char", registerWithUser(R"("a")"_ba), bad, u"user"_s);
    addError("user 33 chars", registerWithUser('"' + repeatedBytes('a', 33) + '"'), bad, u"user"_s);
    addError("user with space", registerWithUser(R"("al ice")"_ba), bad, u"user"_s);
    addError("user with colon", registerWithUser(R"("al:ice")"_ba), bad, u"user"_s);
    addError("user accented", registerWithUser("\"\xC3\xA1lice\""_ba), bad, u"user"_s);
    addError("user kelvin sign", registerWithUser(R"("\u212Aelvin")"_ba), bad, u"user"_s);
    addError("user control char", registerWithUser(R"("ali\u0001ce")"_ba), bad, u"user"_s);
    // Raw control characters are not JSON (RFC 8259 section 7): refused with the frame.
    addError("user raw tab", registerWithUser("\"ali\tce\""_ba), bad, frame);
    addError("password missing", R"({"type":"login","user":"alice"})"_ba, bad, u"password"_s);
    addError("password empty", R"({"type":"login","user":"alice","password":""})"_ba, bad,
        u"password"_s);
    addError("password number", R"({"type":"login","user":"alice","password":1234})"_ba, bad,
        u"password"_s);
    addError("password 1025 bytes",
        R"({"type":"login","user":"alice","password":")"_ba + repeatedBytes('p', 1025) + "\"}"_ba,
        bad, u"password"_s);
    addError("password 257 emoji",
        R"({"type":"login","user":"alice","password":")"_ba + repeated(Emoji, 257).toUtf8()
            + "\"}"_ba,
        bad, u"password"_s);
    // Unpaired surrogate escapes are refused by the JSON parser, with the frame.
    addError("password lone surrogate", R"({"type":"login","user":"alice","password":"\udc00"})"_ba,
        bad, frame);
    addError("device empty", R"({"type":"login","user":"alice","password":"pw","device":""})"_ba,
        bad, u"device"_s);
    addError("device number", R"({"type":"login","user":"alice","password":"pw","device":3})"_ba,
        bad, u"device"_s);
    addError("device 65 chars",
        R"({"type":"login","user":"alice","password":"pw","device":")"_ba + repeatedBytes('d', 65)
            + "\"}"_ba,
        bad, u"device"_s);
    addError("device control char",
        R"({"type":"login","user":"alice","password":"pw","device":"lap\ntop"})"_ba, bad,
        u"device"_s);

    // resume
    addError("token missing", R"({"type":"resume","rid":"1"})"_ba, bad, u"token"_s);
    addError("token empty", R"({"type":"resume","token":""})"_ba, bad, u"token"_s);
    addError("token 257 chars",
        R"({"type":"resume","token":")"_ba + repeatedBytes('t', 257) + "\"}"_ba, bad, u"token"_s);
    addError(
        "token non-ascii", "{\"type\":\"resume\",\"token\":\"t\xC3\xA9\"}"_ba, bad, u"token"_s);
    addError("token control char", R"({"type":"resume","token":"ab\u0000"})"_ba, bad, u"token"_s);

    // send
    addError("to missing", R"({"type":"send","cid":"c","body":"x"})"_ba, bad, u"to"_s);
    addError("to invalid", R"({"type":"send","to":"b","cid":"c","body":"x"})"_ba, bad, u"to"_s);
    addError("cid missing", R"({"type":"send","to":"bob","body":"x"})"_ba, bad, u"cid"_s);
    addError(
        "cid with space", R"({"type":"send","to":"bob","cid":"c 1","body":"x"})"_ba, bad, u"cid"_s);
    addError("cid empty", R"({"type":"send","to":"bob","cid":"","body":"x"})"_ba, bad, u"cid"_s);
    addError("cid 65 chars",
        R"({"type":"send","to":"bob","cid":")"_ba + repeatedBytes('c', 65) + R"(","body":"x"})"_ba,
        bad, u"cid"_s);
    addError("cid non-ascii",
        "{\"type\":\"send\",\"to\":\"bob\",\"cid\":\"\xC3\xA9\",\"body\":\"x\"}"_ba, bad, u"cid"_s);
    addError("cid number", R"({"type":"send","to":"bob","cid":5,"body":"x"})"_ba, bad, u"cid"_s);
    addError("body missing", R"({"type":"send","to":"bob","cid":"c"})"_ba, bad, u"body"_s);
    addError("body empty", sendWithBody({}), bad, u"body"_s);
    addError("body number", R"({"type":"send","to":"bob","cid":"c","body":1})"_ba, bad, u"body"_s);
    addError("body 4001 code points", sendWithBody(repeatedBytes('a', MaxBodyChars + 1)), bad,
        u"body"_s);
    addError("body 4001 emoji", sendWithBody(repeated(Emoji, MaxBodyChars + 1).toUtf8()), bad,
        u"body"_s);
    addError("body escaped control char", sendWithBody(R"(a\u0001b)"_ba), bad, u"body"_s);
    addError("body raw control char",
        sendWithBody("a\x01"
                     "b"_ba),
        bad, frame);
    addError("body escaped NUL", sendWithBody(R"(\u0000)"_ba), bad, u"body"_s);
    addError("body escape char", sendWithBody(R"(\u001b[31mred)"_ba), bad, u"body"_s);
    addError("body DEL", sendWithBody("a\x7F"_ba), bad, u"body"_s);
    addError("body lone high surrogate", sendWithBody(R"(a\ud800b)"_ba), bad, frame);
    addError("body lone low surrogate", sendWithBody(R"(\ude00)"_ba), bad, frame);
    addError("body reversed surrogates", sendWithBody(R"(\ude00\ud83d)"_ba), bad, frame);

    // receipt: integers, enums, conversation ids
    addError(
        "kind missing", R"({"type":"receipt","conv":"alice:bob","upTo":1})"_ba, bad, u"kind"_s);
    addError("kind unknown", R"({"type":"receipt","conv":"alice:bob","kind":"seen","upTo":1})"_ba,
        bad, u"kind"_s);
    addError("kind uppercase", R"({"type":"receipt","conv":"alice:bob","kind":"READ","upTo":1})"_ba,
        bad, u"kind"_s);
    addError("upTo missing", R"({"type":"receipt","conv":"alice:bob","kind":"read"})"_ba, bad,
        u"upTo"_s);
    addError("upTo negative", receiptWithUpTo("-1"_ba), bad, u"upTo"_s);
    addError("upTo fractional", receiptWithUpTo("1.5"_ba), bad, u"upTo"_s);
    addError("upTo string", receiptWithUpTo(R"("5")"_ba), bad, u"upTo"_s);
    addError("upTo huge", receiptWithUpTo("1e300"_ba), bad, u"upTo"_s);
    addError("upTo 2^53", receiptWithUpTo("9007199254740992"_ba), bad, u"upTo"_s);
    // Past 64 bits an integer is refused by the JSON parser (RFC 8259 lets it set limits).
    addError("upTo beyond int64", receiptWithUpTo("123456789012345678901234"_ba), bad, frame);
    addError("upTo beyond int64, written as a double",
        receiptWithUpTo("123456789012345678901234.0"_ba), bad, u"upTo"_s);
    addError("upTo unsigned 64 bit", receiptWithUpTo("18446744073709551615"_ba), bad, u"upTo"_s);
    addError("upTo bool", receiptWithUpTo("true"_ba), bad, u"upTo"_s);
    addError("upTo null", receiptWithUpTo("null"_ba), bad, u"upTo"_s);
    addError("conv missing", R"({"type":"receipt","kind":"read","upTo":1})"_ba, bad, u"conv"_s);
    addError("conv not sorted", receiptWithConv(R"("bob:alice")"_ba), bad, u"conv"_s);
    addError("conv same user", receiptWithConv(R"("bob:bob")"_ba), bad, u"conv"_s);
    addError("conv without colon", receiptWithConv(R"("alicebob")"_ba), bad, u"conv"_s);
    addError("conv uppercase", receiptWithConv(R"("Alice:bob")"_ba), bad, u"conv"_s);
    addError("conv three members", receiptWithConv(R"("al:bo:cy")"_ba), bad, u"conv"_s);
    addError("conv empty member", receiptWithConv(R"(":bob")"_ba), bad, u"conv"_s);
    addError("conv number", receiptWithConv("1"_ba), bad, u"conv"_s);

    // history
    addError("after and before", R"({"type":"history","conv":"alice:bob","after":1,"before":9})"_ba,
        bad, u"after"_s);
    addError("history limit 0", R"({"type":"history","conv":"alice:bob","limit":0})"_ba, bad,
        u"limit"_s);
    addError("history limit string", R"({"type":"history","conv":"alice:bob","limit":"10"})"_ba,
        bad, u"limit"_s);
    addError("history after negative", R"({"type":"history","conv":"alice:bob","after":-5})"_ba,
        bad, u"after"_s);
    addError("history before fractional",
        R"({"type":"history","conv":"alice:bob","before":2.5})"_ba, bad, u"before"_s);
    addError("history conv missing", R"({"type":"history","after":1})"_ba, bad, u"conv"_s);

    // typing
    addError("typing state unknown", R"({"type":"typing","to":"bob","state":"typing"})"_ba, bad,
        u"state"_s);
    addError("typing state missing", R"({"type":"typing","to":"bob"})"_ba, bad, u"state"_s);
    addError("typing to missing", R"({"type":"typing","state":"start"})"_ba, bad, u"to"_s);

    // watch
    addError("watch users missing", R"({"type":"watch"})"_ba, bad, u"users"_s);
    addError("watch users empty", R"({"type":"watch","users":[]})"_ba, bad, u"users"_s);
    addError("watch users string", R"({"type":"watch","users":"bob"})"_ba, bad, u"users"_s);
    addError("watch users object", R"({"type":"watch","users":{"0":"bob"}})"_ba, bad, u"users"_s);
    addError("watch element invalid", R"({"type":"watch","users":["bob","carol","x y"]})"_ba, bad,
        u"users[2]"_s);
    addError("watch element number", R"({"type":"watch","users":[1]})"_ba, bad, u"users[0]"_s);
    addError("watch too many", watchOf(MaxWatchUsers + 1), bad, u"users"_s);

    // users
    addError("users prefix with space", R"({"type":"users","prefix":"b b"})"_ba, bad, u"prefix"_s);
    addError("users prefix 33 chars",
        R"({"type":"users","prefix":")"_ba + repeatedBytes('b', 33) + "\"}"_ba, bad, u"prefix"_s);
    addError("users prefix number", R"({"type":"users","prefix":1})"_ba, bad, u"prefix"_s);
    addError("users prefix colon", R"({"type":"users","prefix":"a:"})"_ba, bad, u"prefix"_s);
    addError("users limit 0", R"({"type":"users","limit":0})"_ba, bad, u"limit"_s);

    // search
    addError("search q missing", R"({"type":"search"})"_ba, bad, u"q"_s);
    addError("search q empty", R"({"type":"search","q":""})"_ba, bad, u"q"_s);
    addError("search q 257 chars",
        R"({"type":"search","q":")"_ba + repeatedBytes('q', 257) + "\"}"_ba, bad, u"q"_s);
    addError("search q array", R"({"type":"search","q":["a"]})"_ba, bad, u"q"_s);
    addError("search conv invalid", R"({"type":"search","q":"a","conv":"bob:alice"})"_ba, bad,
        u"conv"_s);
    addError("search from invalid", R"({"type":"search","q":"a","from":"b!"})"_ba, bad, u"from"_s);
    addError(
        "search cursor number", R"({"type":"search","q":"a","cursor":5})"_ba, bad, u"cursor"_s);
    addError("search cursor 513 chars",
        R"({"type":"search","q":"a","cursor":")"_ba + repeatedBytes('c', 513) + "\"}"_ba, bad,
        u"cursor"_s);
}

void TestCodec::clientErrors()
{
    QFETCH(QByteArray, input);
    QFETCH(ErrorCode, code);
    QFETCH(QString, field);

    const Decoded<ClientFrame> decoded = decodeClientFrame(input);
    QVERIFY2(!decoded.ok(), describe(decoded).constData());
    const DecodeError &error = decoded.error();
    QCOMPARE(errorCodeName(error.code), errorCodeName(code));
    QCOMPARE(error.field, field);
    QVERIFY(!error.message.isEmpty());
    if (code == ErrorCode::UnknownType)
        QVERIFY2(error.message.contains(error.type), describe(decoded).constData());
}

void TestCodec::serverErrors_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("field");

    const auto bad = ErrorCode::BadRequest;
    const QByteArray msg
        = R"({"type":"msg","conv":"alice:bob","seq":1,"from":"alice","to":"bob","cid":"c","ts":5)"_ba;

    addError("client type send", R"({"type":"send"})"_ba, ErrorCode::UnknownType, u"type"_s);
    addError("type missing", R"({"code":"internal"})"_ba, bad, u"type"_s);
    addError("error unknown code", R"({"type":"error","code":"teapot","message":"x"})"_ba, bad,
        u"code"_s);
    addError("error code missing", R"({"type":"error","message":"x"})"_ba, bad, u"code"_s);
    addError("error code number", R"({"type":"error","code":3,"message":"x"})"_ba, bad, u"code"_s);
    addError(
        "error message missing", R"({"type":"error","code":"internal"})"_ba, bad, u"message"_s);
    addError("error retryAfterMs negative",
        R"({"type":"error","code":"rate_limited","message":"x","retryAfterMs":-1})"_ba, bad,
        u"retryAfterMs"_s);
    addError("msg body missing", msg + "}"_ba, bad, u"body"_s);
    addError("msg body control char", msg + R"(,"body":"\u0002"})"_ba, bad, u"body"_s);
    addError("msg body 4001 emoji",
        msg + R"(,"body":")"_ba + repeated(Emoji, MaxBodyChars + 1).toUtf8() + "\"}"_ba, bad,
        u"body"_s);
    addError("msg from invalid",
        R"({"type":"msg","conv":"alice:bob","seq":1,"from":"a","to":"bob","cid":"c","body":"x","ts":5})"_ba,
        bad, u"from"_s);
    addError("msg seq fractional",
        R"({"type":"msg","conv":"alice:bob","seq":1.5,"from":"alice","to":"bob","cid":"c","body":"x","ts":5})"_ba,
        bad, u"seq"_s);
    addError("ack seq missing", R"({"type":"ack","cid":"c","conv":"alice:bob","ts":1})"_ba, bad,
        u"seq"_s);
    addError("ack dup not bool",
        R"({"type":"ack","cid":"c","conv":"alice:bob","seq":1,"ts":1,"dup":"yes"})"_ba, bad,
        u"dup"_s);
    addError("history messages not array",
        R"({"type":"history","conv":"alice:bob","messages":{},"more":false})"_ba, bad,
        u"messages"_s);
    addError("history message body bad",
        R"({"type":"history","conv":"alice:bob","messages":[{"seq":1,"gap":true},{"conv":"alice:bob","seq":2,"from":"alice","to":"bob","cid":"c","body":"","ts":5}],"more":false})"_ba,
        bad, u"messages[1].body"_s);
    addError("history message not object",
        R"({"type":"history","conv":"alice:bob","messages":[7],"more":false})"_ba, bad,
        u"messages[0]"_s);
    addError("history gap seq negative",
        R"({"type":"history","conv":"alice:bob","messages":[{"seq":-1,"gap":true}],"more":false})"_ba,
        bad, u"messages[0].seq"_s);
    addError("history more missing", R"({"type":"history","conv":"alice:bob","messages":[]})"_ba,
        bad, u"more"_s);
    addError("conversations item field",
        R"({"type":"conversations","items":[{"conv":"alice:bob","peer":"bob","lastSeq":"1","delivered":0,"read":0,"peerDelivered":0,"peerRead":0,"lastTs":0}]})"_ba,
        bad, u"items[0].lastSeq"_s);
    addError("conversations item not object", R"({"type":"conversations","items":[null]})"_ba, bad,
        u"items[0]"_s);
    addError(
        "conversations items missing", R"({"type":"conversations","rid":"2"})"_ba, bad, u"items"_s);
    addError("hello limits missing",
        R"({"type":"hello","protocol":1,"server":"parley/1","node":"n"})"_ba, bad, u"limits"_s);
    addError("hello limit wrong type",
        R"({"type":"hello","protocol":1,"server":"parley/1","node":"n","limits":{"maxFrameBytes":"64k","maxBodyChars":4000}})"_ba,
        bad, u"limits.maxFrameBytes"_s);
    addError("hello protocol huge",
        R"({"type":"hello","protocol":1e12,"server":"parley/1","node":"n","limits":{"maxFrameBytes":1,"maxBodyChars":1}})"_ba,
        bad, u"protocol"_s);
    addError("presence state unknown", R"({"type":"presence","user":"bob","state":"away"})"_ba, bad,
        u"state"_s);
    addError("presence lastSeen negative",
        R"({"type":"presence","user":"bob","state":"offline","lastSeen":-1})"_ba, bad,
        u"lastSeen"_s);
    addError("results next number", R"({"type":"results","hits":[],"next":3})"_ba, bad, u"next"_s);
    addError("results hit snippet missing",
        R"({"type":"results","hits":[{"conv":"alice:bob","seq":1,"from":"bob","ts":1,"body":"x"}],"next":null})"_ba,
        bad, u"hits[0].snippet"_s);
    addError("users entry state", R"({"type":"users","users":[{"user":"bob","state":"busy"}]})"_ba,
        bad, u"users[0].state"_s);
    addError("typing from missing", R"({"type":"typing","state":"start"})"_ba, bad, u"from"_s);
    addError("welcome token missing",
        R"({"type":"welcome","user":"alice","device":"d","expires":1})"_ba, bad, u"token"_s);
    addError("receipt by missing",
        R"({"type":"receipt","conv":"alice:bob","kind":"read","upTo":1})"_ba, bad, u"by"_s);
    addError("ok rid number", R"({"type":"ok","rid":9})"_ba, bad, u"rid"_s);
    addError("server utf8 invalid", "{\"type\":\"ok\",\"rid\":\"\xC0\xAF\"}"_ba, bad, QString());
}

void TestCodec::serverErrors()
{
    QFETCH(QByteArray, input);
    QFETCH(ErrorCode, code);
    QFETCH(QString, field);

    const Decoded<ServerFrame> decoded = decodeServerFrame(input);
    QVERIFY2(!decoded.ok(), describe(decoded).constData());
    QCOMPARE(errorCodeName(decoded.error().code), errorCodeName(code));
    QCOMPARE(decoded.error().field, field);
    QVERIFY(!decoded.error().message.isEmpty());
}

void TestCodec::ridRecovered_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("rid");
    QTest::addColumn<QString>("type");

    QTest::newRow("bad body") << R"({"type":"send","rid":"7","to":"bob","cid":"c","body":""})"_ba
                              << u"7"_s << u"send"_s;
    QTest::newRow("rid after the bad field")
        << R"({"type":"history","conv":"x","rid":"abc-123"})"_ba << u"abc-123"_s << u"history"_s;
    QTest::newRow("unknown type") << R"({"type":"fly","rid":"42"})"_ba << u"42"_s << u"fly"_s;
    QTest::newRow("missing type") << R"({"rid":"r"})"_ba << u"r"_s << QString();
    QTest::newRow("type not a string") << R"({"rid":"r","type":1})"_ba << u"r"_s << QString();
    QTest::newRow("unicode rid") << "{\"type\":\"send\",\"rid\":\"\xC3\xA9\",\"to\":\"b\"}"_ba
                                 << u"\u00E9"_s << u"send"_s;
    QTest::newRow("rid number not recovered")
        << R"({"type":"sync","rid":5})"_ba << QString() << u"sync"_s;
    QTest::newRow("rid too long not echoed")
        << R"({"type":"sync","rid":")"_ba + repeatedBytes('r', 65) + "\"}"_ba << QString()
        << u"sync"_s;
    QTest::newRow("truncated json") << R"({"type":"sync","rid":"1")"_ba << QString() << QString();
    QTest::newRow("bad utf8") << "{\"type\":\"sync\",\"rid\":\"1\",\"x\":\"\xFF\"}"_ba << QString()
                              << QString();
}

void TestCodec::ridRecovered()
{
    QFETCH(QByteArray, input);
    QFETCH(QString, rid);
    QFETCH(QString, type);

    const Decoded<ClientFrame> decoded = decodeClientFrame(input);
    QVERIFY(!decoded.ok());
    QCOMPARE(decoded.error().rid, rid);
    QCOMPARE(decoded.error().type, type);
}

// ---- robustness ------------------------------------------------------------

void TestCodec::everyTruncationFails_data()
{
    QTest::addColumn<QByteArray>("input");

    QTest::newRow("register") << encode(
        ClientFrame(Register {u"1"_s, u"alice"_s, u"pw"_s, u"laptop"_s}));
    QTest::newRow("send emoji") << encode(
        ClientFrame(Send {u"7"_s, u"bob"_s, u"c"_s, Emoji + Emoji}));
    QTest::newRow("history") << encode(
        ServerFrame(HistoryPage {u"3"_s, u"alice:bob"_s, {message(1, u"é"_s), gap(2)}, true}));
}

// Every proper prefix of a frame, cut anywhere (even inside a UTF-8 sequence),
// is rejected as a whole-frame bad_request by both decoders.
void TestCodec::everyTruncationFails()
{
    QFETCH(QByteArray, input);

    for (qsizetype cut = 0; cut < input.size(); ++cut) {
        const QByteArrayView prefix(input.constData(), cut);
        const Decoded<ClientFrame> client = decodeClientFrame(prefix);
        const Decoded<ServerFrame> server = decodeServerFrame(prefix);
        QVERIFY2(!client.ok() && !server.ok(), prefix.toByteArray().constData());
        QCOMPARE(client.error().code, ErrorCode::BadRequest);
        QCOMPARE(client.error().field, QString());
        QCOMPARE(server.error().field, QString());
    }
}

// Random byte edits of valid frames: nothing crashes, every failure is a
// request-level error, and whatever decodes re-encodes to a stable value.
void TestCodec::mutatedFramesNeverCrash()
{
    const QList<QByteArray> seeds {
        encode(ClientFrame(Send {u"7"_s, u"bob"_s, u"c"_s, u"h\u00e9llo "_s + Emoji})),
        encode(ClientFrame(HistoryRequest {u"3"_s, u"alice:bob"_s, 40, std::nullopt, 100})),
        encode(ClientFrame(Watch {u"w"_s, {u"bob"_s, u"carol"_s}})),
        encode(
            ServerFrame(HistoryPage {u"3"_s, u"alice:bob"_s, {message(1, u"x"_s), gap(2)}, true})),
        encode(ServerFrame(Error {u"7"_s, ErrorCode::RateLimited, u"later"_s, 1000})),
        encode(ServerFrame(SearchResults {u"5"_s, {}, u"n"_s})),
    };
    const QByteArray alphabet = "{}[]\":,.-+eE0123456789 \\utfn\x00\x7F\x80\xC3\xED\xFF"_ba;
    QRandomGenerator random(20240611); // fixed: failures must reproduce

    for (int round = 0; round < 4000; ++round) {
        QByteArray input = seeds.at(random.bounded(int(seeds.size())));
        const int edits = 1 + random.bounded(3);
        for (int e = 0; e < edits && !input.isEmpty(); ++e) {
            const qsizetype at = random.bounded(int(input.size()));
            const char c = alphabet.at(random.bounded(int(alphabet.size())));
            switch (random.bounded(3)) {
            case 0:
                input[at] = c;
                break;
            case 1:
                input.insert(at, c);
                break;
            default:
                input.remove(at, 1);
                break;
            }
        }
        const Decoded<ClientFrame> client = decodeClientFrame(input);
        if (client.ok()) {
            const Decoded<ClientFrame> again = decodeClientFrame(encode(client.value()));
            QVERIFY2(again.ok() && again.value() == client.value(), input.constData());
        } else {
            QVERIFY(client.error().code == ErrorCode::BadRequest
                || client.error().code == ErrorCode::UnknownType);
        }
        const Decoded<ServerFrame> server = decodeServerFrame(input);
        if (server.ok()) {
            const Decoded<ServerFrame> again = decodeServerFrame(encode(server.value()));
            QVERIFY2(again.ok() && again.value() == server.value(), input.constData());
        }
    }
}

// ---- helpers ---------------------------------------------------------------

void TestCodec::errorCodeNames_data()
{
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("name");

    QTest::newRow("bad_request") << ErrorCode::BadRequest << u"bad_request"_s;
    QTest::newRow("unknown_type") << ErrorCode::UnknownType << u"unknown_type"_s;
    QTest::newRow("unauthenticated") << ErrorCode::Unauthenticated << u"unauthenticated"_s;
    QTest::newRow("auth_failed") << ErrorCode::AuthFailed << u"auth_failed"_s;
    QTest::newRow("user_exists") << ErrorCode::UserExists << u"user_exists"_s;
    QTest::newRow("not_found") << ErrorCode::NotFound << u"not_found"_s;
    QTest::newRow("forbidden") << ErrorCode::Forbidden << u"forbidden"_s;
    QTest::newRow("too_large") << ErrorCode::TooLarge << u"too_large"_s;
    QTest::newRow("rate_limited") << ErrorCode::RateLimited << u"rate_limited"_s;
    QTest::newRow("unavailable") << ErrorCode::Unavailable << u"unavailable"_s;
    QTest::newRow("internal") << ErrorCode::Internal << u"internal"_s;
}

void TestCodec::errorCodeNames()
{
    QFETCH(ErrorCode, code);
    QFETCH(QString, name);

    QCOMPARE(errorCodeName(code), name);
    QVERIFY(errorCodeFromName(name) == code);
    QVERIFY(!errorCodeFromName(name.toUpper()));

    // And it survives the wire as an error frame.
    const ServerFrame frame = Error {u"1"_s, code, u"m"_s, std::nullopt};
    const Decoded<ServerFrame> decoded = decodeServerFrame(encode(frame));
    QVERIFY(decoded.ok());
    QVERIFY(decoded.value() == frame);
}

void TestCodec::conversationId_data()
{
    QTest::addColumn<QString>("a");
    QTest::addColumn<QString>("b");
    QTest::addColumn<QString>("expected");

    QTest::newRow("sorted") << u"alice"_s << u"bob"_s << u"alice:bob"_s;
    QTest::newRow("reversed") << u"bob"_s << u"alice"_s << u"alice:bob"_s;
    QTest::newRow("prefix sorts first") << u"bobby"_s << u"bob"_s << u"bob:bobby"_s;
    QTest::newRow("digits before letters") << u"zed"_s << u"007"_s << u"007:zed"_s;
    QTest::newRow("punctuation order") << u"a_b"_s << u"a.b"_s << u"a.b:a_b"_s;
    QTest::newRow("uppercase normalized") << u"Bob"_s << u"ALICE"_s << u"alice:bob"_s;
}

void TestCodec::conversationId()
{
    QFETCH(QString, a);
    QFETCH(QString, b);
    QFETCH(QString, expected);

    QCOMPARE(parley::protocol::conversationId(a, b), expected);
    QCOMPARE(parley::protocol::conversationId(b, a), expected);
    const auto members = parley::protocol::conversationMembers(expected);
    QVERIFY(members);
    QCOMPARE(members->first + u':' + members->second, expected);
}

void TestCodec::conversationMembers_data()
{
    QTest::addColumn<QString>("conv");
    QTest::addColumn<bool>("valid");

    QTest::newRow("valid") << u"alice:bob"_s << true;
    QTest::newRow("shortest names") << u"ab:ac"_s << true;
    QTest::newRow("longest names") << repeated(u"a", 32) + u':' + repeated(u"b", 32) << true;
    QTest::newRow("not sorted") << u"bob:alice"_s << false;
    QTest::newRow("same") << u"bob:bob"_s << false;
    QTest::newRow("uppercase") << u"alice:Bob"_s << false;
    QTest::newRow("no colon") << u"alice"_s << false;
    QTest::newRow("empty") << QString() << false;
    QTest::newRow("empty second") << u"alice:"_s << false;
    QTest::newRow("three parts") << u"aa:bb:cc"_s << false;
    QTest::newRow("member too long") << u"a:"_s + repeated(u"b", 33) << false;
    QTest::newRow("space") << u"alice :bob"_s << false;
}

void TestCodec::conversationMembers()
{
    QFETCH(QString, conv);
    QFETCH(bool, valid);

    const auto members = parley::protocol::conversationMembers(conv);
    QCOMPARE(members.has_value(), valid);
    if (valid)
        QCOMPARE(parley::protocol::conversationId(members->first, members->second), conv);
}

void TestCodec::codePointCount_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qsizetype>("count");

    QTest::newRow("empty") << QString() << qsizetype(0);
    QTest::newRow("ascii") << u"hello"_s << qsizetype(5);
    QTest::newRow("bmp accented") << u"héllo"_s << qsizetype(5);
    QTest::newRow("cjk") << u"世界"_s << qsizetype(2);
    QTest::newRow("emoji") << Emoji << qsizetype(1);
    QTest::newRow("4000 emoji") << repeated(Emoji, 4000) << qsizetype(4000);
    QTest::newRow("lone high surrogate") << QString(QChar(0xD800)) << qsizetype(1);
    QTest::newRow("high surrogate at end") << u"a"_s + Emoji.left(1) << qsizetype(2);
    QTest::newRow("reversed pair") << QString(Emoji.at(1)) + Emoji.at(0) << qsizetype(2);
    QTest::newRow("combining mark") << u"e\u0301"_s << qsizetype(2);
}

void TestCodec::codePointCount()
{
    QFETCH(QString, text);
    QFETCH(qsizetype, count);

    QCOMPARE(parley::protocol::codePointCount(text), count);
}

void TestCodec::normalizeUserName_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("normalized");
    QTest::addColumn<bool>("valid");

    QTest::newRow("lowercase") << u"alice"_s << u"alice"_s << true;
    QTest::newRow("uppercase") << u"ALICE"_s << u"alice"_s << true;
    QTest::newRow("mixed with punctuation") << u"Bob.Smith_2-X"_s << u"bob.smith_2-x"_s << true;
    QTest::newRow("too short") << u"A"_s << u"a"_s << false;
    QTest::newRow("too long") << repeated(u"A", 33) << repeated(u"a", 33) << false;
    QTest::newRow("space kept, invalid") << u"Al Ice"_s << u"al ice"_s << false;
    QTest::newRow("non-ascii not folded") << u"\u00C9mile"_s << u"\u00C9mile"_s << false;
    QTest::newRow("kelvin sign not folded") << u"\u212Aelvin"_s << u"\u212Aelvin"_s << false;
    QTest::newRow("dotted capital I not folded") << u"\u0130ris"_s << u"\u0130ris"_s << false;
    QTest::newRow("empty") << QString() << QString() << false;
}

void TestCodec::normalizeUserName()
{
    QFETCH(QString, input);
    QFETCH(QString, normalized);
    QFETCH(bool, valid);

    QCOMPARE(parley::protocol::normalizeUserName(input), normalized);
    QCOMPARE(isValidUserName(normalized), valid);
}

void TestCodec::bodyProblem_data()
{
    QTest::addColumn<QString>("body");
    QTest::addColumn<bool>("ok");

    QTest::newRow("plain") << u"hi"_s << true;
    QTest::newRow("whitespace controls") << u"a\tb\nc\r\n"_s << true;
    QTest::newRow("4000 ascii") << repeated(u"a", 4000) << true;
    QTest::newRow("4001 ascii") << repeated(u"a", 4001) << false;
    QTest::newRow("4000 emoji") << repeated(Emoji, 4000) << true;
    QTest::newRow("4001 emoji") << repeated(Emoji, 4001) << false;
    QTest::newRow("3999 ascii + emoji") << repeated(u"a", 3999) + Emoji << true;
    QTest::newRow("empty") << QString() << false;
    QTest::newRow("NUL") << QString(QChar(0)) << false;
    QTest::newRow("bell") << u"ding\u0007"_s << false;
    QTest::newRow("DEL") << u"a\u007F"_s << false;
    QTest::newRow("C1 allowed") << u"a\u0085b"_s << true;
    QTest::newRow("lone surrogate") << u"a"_s + QChar(0xDC00) << false;
    QTest::newRow("noncharacter allowed") << u"\uFFFE"_s << true;
}

void TestCodec::bodyProblem()
{
    QFETCH(QString, body);
    QFETCH(bool, ok);

    const std::optional<QString> problem = parley::protocol::bodyProblem(body);
    QVERIFY2(problem.has_value() != ok, qPrintable(problem.value_or(u"no problem"_s)));
}

QTEST_APPLESS_MAIN(TestCodec)
#include "tst_codec.moc"
