// WsFrameParser and Utf8Validator: a conformance table after the Autobahn testsuite's case
// groups (1 framing, 2 pings and pongs, 3 reserved bits, 4 opcodes, 5 fragmentation,
// 6 UTF-8, 7 close handling, 9 limits), plus what a server must refuse that Autobahn
// tests from the client side (unmasked frames). Every row is fed whole, one byte at a
// time and in random pieces, and must report the same thing each way.
#include "utf8validator.h"
#include "wsframeparser.h"

#include <QRandomGenerator>
#include <QtTest>

using namespace parley::server;
using P = WsFrameParser;

namespace {

constexpr qsizetype MaxMessage = 65536;

// Records what the parser reports as one line per event.
class Recorder : public WsFrameParser::Handler
{
public:
    QByteArrayList events;

    void wsMessage(bool text, QByteArray payload) override
    {
        events << (text ? QByteArray("text:" + payload)
                        : QByteArray("binary:" + QByteArray::number(payload.size())));
    }
    void wsPing(QByteArray payload) override { events << "ping:" + payload; }
    void wsPong(QByteArray payload) override { events << "pong:" + payload; }
    void wsClose(int code, QByteArray reason) override
    {
        events << "close:" + QByteArray::number(code) + ':' + reason;
    }
    void wsProtocolError(int closeCode, const char *) override
    {
        events << "error:" + QByteArray::number(closeCode);
    }
};

QByteArray frame(quint8 opcode, QByteArrayView payload, bool fin = true)
{
    return P::clientFrame(opcode, payload, fin);
}

QByteArray closePayload(int code, QByteArrayView reason = {})
{
    QByteArray payload(2, Qt::Uninitialized);
    qToBigEndian<quint16>(quint16(code), payload.data());
    return payload + reason.toByteArray();
}

QByteArrayList parseWhole(const QByteArray &input)
{
    WsFrameParser parser(MaxMessage);
    Recorder recorder;
    parser.feed(input, recorder);
    return recorder.events;
}

QByteArrayList parseBytewise(const QByteArray &input)
{
    WsFrameParser parser(MaxMessage);
    Recorder recorder;
    for (qsizetype i = 0; i < input.size(); ++i)
        parser.feed(QByteArrayView(input).sliced(i, 1), recorder);
    return recorder.events;
}

QByteArrayList parseRandomPieces(const QByteArray &input, quint32 seed)
{
    QRandomGenerator random(seed);
    WsFrameParser parser(MaxMessage);
    Recorder recorder;
    qsizetype pos = 0;
    while (pos < input.size()) {
        const qsizetype n = std::min<qsizetype>(input.size() - pos, 1 + random.bounded(40));
        parser.feed(QByteArrayView(input).sliced(pos, n), recorder);
        pos += n;
    }
    return recorder.events;
}

} // namespace

class TestWsFrameParser : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void conformance_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QByteArrayList>("expected");
        const QByteArray hello
            = "Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!!";

        // 1 Framing: text and binary of every length encoding.
        QTest::newRow("1.1.1 empty text") << frame(P::Text, "") << QByteArrayList {"text:"};
        for (int n : {125, 126, 127, 128, 65535, 65536}) {
            const QByteArray text(n, '*');
            QTest::addRow("1.1 text of %d", n)
                << frame(P::Text, text) << QByteArrayList {"text:" + text};
            QTest::addRow("1.2 binary of %d", n) << frame(P::Binary,
                QByteArray(n, '\xfe')) << QByteArrayList {"binary:" + QByteArray::number(n)};
        }
        QTest::newRow("1.x two frames in one read") << frame(P::Text, "a") + frame(P::Binary, "bc")
                                                    << QByteArrayList {"text:a", "binary:2"};

        // 2 Pings and pongs.
        QTest::newRow("2.1 empty ping") << frame(P::Ping, "") << QByteArrayList {"ping:"};
        QTest::newRow("2.3 ping of 125") << frame(P::Ping, QByteArray(125, 'p'))
                                         << QByteArrayList {"ping:" + QByteArray(125, 'p')};
        QTest::newRow("2.5 ping of 126")
            << frame(P::Ping, QByteArray(126, 'p')) << QByteArrayList {"error:1002"};
        QTest::newRow("2.6 unsolicited pong") << frame(P::Pong, "x") << QByteArrayList {"pong:x"};
        QTest::newRow("2.x fragmented ping")
            << frame(P::Ping, "x", false) << QByteArrayList {"error:1002"};

        // 3 Reserved bits.
        for (quint8 rsv = 1; rsv <= 7; ++rsv)
            QTest::addRow("3.%d reserved bits %d", rsv, rsv) << P::clientFrame(
                P::Text, "x", true, 0x11223344, rsv) << QByteArrayList {"error:1002"};
        QTest::newRow("3.x reserved bits after a good frame")
            << frame(P::Text, "ok") + P::clientFrame(P::Text, "x", true, 0x11223344, 4)
            << QByteArrayList {"text:ok", "error:1002"};

        // 4 Opcodes.
        for (quint8 op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF})
            QTest::addRow("4.x reserved opcode %d", op)
                << frame(op, "") << QByteArrayList {"error:1002"};

        // 5 Fragmentation.
        QTest::newRow("5.3 text in two fragments") << frame(P::Text, "frag", false)
                + frame(P::Continuation, "ment") << QByteArrayList {"text:fragment"};
        QTest::newRow("5.6 ping between fragments")
            << frame(P::Text, "fr", false) + frame(P::Ping, "p") + frame(P::Continuation, "ag")
            << QByteArrayList {"ping:p", "text:frag"};
        QTest::newRow("5.9 continuation without a message")
            << frame(P::Continuation, "x") << QByteArrayList {"error:1002"};
        QTest::newRow("5.15 text inside a fragmented message")
            << frame(P::Text, "a", false) + frame(P::Text, "b") << QByteArrayList {"error:1002"};
        QTest::newRow("5.x empty fragments") << frame(P::Text, "", false)
                + frame(P::Continuation, "", false)
                + frame(P::Continuation, "") << QByteArrayList {"text:"};
        QTest::newRow("5.x binary in fragments") << frame(P::Binary, "ab", false)
                + frame(P::Continuation, "c") << QByteArrayList {"binary:3"};

        // 6 UTF-8: valid text split at every byte, and invalid sequences.
        for (qsizetype cut = 0; cut <= hello.size(); ++cut)
            QTest::addRow("6.x valid text split at byte %d", int(cut))
                << frame(P::Text, hello.first(cut), false)
                    + frame(P::Continuation, hello.sliced(cut))
                << QByteArrayList {"text:" + hello};
        const QByteArray fourByte = "\xF0\x9F\x98\x80"; // U+1F600
        for (qsizetype cut = 1; cut < 4; ++cut)
            QTest::addRow("6.x four-byte character split at %d", int(cut))
                << frame(P::Text, fourByte.first(cut), false)
                    + frame(P::Continuation, fourByte.sliced(cut))
                << QByteArrayList {"text:" + fourByte};
        const QList<QByteArray> invalid {
            "\xC0\xAF", // overlong '/'
            "\xE0\x80\xAF", // overlong three-byte
            "\xF0\x80\x80\xAF", // overlong four-byte
            "\xED\xA0\x80", // U+D800
            "\xED\xBF\xBF", // U+DFFF
            "\xF4\x90\x80\x80", // U+110000
            "\xF5\x80\x80\x80", "\xFE", "\xFF",
            "\x80", // a lone continuation byte
            "\xC2", // truncated at the end
            "\xE2\x82", // truncated at the end
            "a\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80edited", // 6.4.1
        };
        for (qsizetype i = 0; i < invalid.size(); ++i)
            QTest::addRow("6.x invalid UTF-8 %d", int(i))
                << frame(P::Text, invalid.at(i)) << QByteArrayList {"error:1007"};
        QTest::newRow("6.x invalid UTF-8 across fragments") << frame(P::Text, "\xED", false)
                + frame(P::Continuation, "\xA0\x80") << QByteArrayList {"error:1007"};
        QTest::newRow("6.x message ends inside a character") << frame(P::Text, "ok\xE2\x82", false)
                + frame(P::Continuation, "") << QByteArrayList {"error:1007"};
        QTest::newRow("6.x binary is not checked")
            << frame(P::Binary, "\xFF\xFE") << QByteArrayList {"binary:2"};

        // 7 Close handling.
        QTest::newRow("7.1.1 close then data is ignored") << frame(P::Close, closePayload(1000))
                + frame(P::Text, "late") << QByteArrayList {"close:1000:"};
        QTest::newRow("7.3.1 empty close") << frame(P::Close, "") << QByteArrayList {"close:1005:"};
        QTest::newRow("7.3.2 close of one byte")
            << frame(P::Close, "\x03") << QByteArrayList {"error:1002"};
        QTest::newRow("7.3.4 close with reason")
            << frame(P::Close, closePayload(1000, "bye")) << QByteArrayList {"close:1000:bye"};
        QTest::newRow("7.3.6 close payload of 126")
            << frame(P::Close, closePayload(1000, QByteArray(124, 'r')))
            << QByteArrayList {"error:1002"};
        for (int code :
            {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999})
            QTest::addRow("7.7 valid close code %d", code) << frame(P::Close,
                closePayload(code)) << QByteArrayList {"close:" + QByteArray::number(code) + ':'};
        for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
            QTest::addRow("7.9 invalid close code %d", code)
                << frame(P::Close, closePayload(code)) << QByteArrayList {"error:1002"};
        QTest::newRow("7.5.1 close reason not UTF-8")
            << frame(P::Close, closePayload(1000, "\xCE\xBA\xE1\xBD\xB9\xED\xA0\x80"))
            << QByteArrayList {"error:1007"};

        // 9 Limits.
        QTest::newRow("9.x message at the limit")
            << frame(P::Binary, QByteArray(MaxMessage, 'x'))
            << QByteArrayList {"binary:" + QByteArray::number(MaxMessage)};
        QTest::newRow("9.x frame over the limit")
            << frame(P::Binary, QByteArray(MaxMessage + 1, 'x')) << QByteArrayList {"error:1009"};
        QTest::newRow("9.x fragments over the limit")
            << frame(P::Binary, QByteArray(MaxMessage, 'x'), false) + frame(P::Continuation, "y")
            << QByteArrayList {"error:1009"};

        // What a server must refuse.
        QTest::newRow("unmasked text")
            << P::clientFrame(P::Text, "hi", true, 0, 0, false) << QByteArrayList {"error:1002"};
        QTest::newRow("unmasked ping after a good frame")
            << frame(P::Text, "ok") + P::clientFrame(P::Ping, "", true, 0, 0, false)
            << QByteArrayList {"text:ok", "error:1002"};
        QByteArray huge = QByteArray::fromHex("82ff8000000000000000") + QByteArray(4, '\0');
        QTest::newRow("length with the top bit set") << huge << QByteArrayList {"error:1002"};
    }

    void conformance()
    {
        QFETCH(QByteArray, input);
        QFETCH(QByteArrayList, expected);
        QCOMPARE(parseWhole(input), expected);
        QCOMPARE(parseBytewise(input), expected);
        for (quint32 seed = 1; seed <= 3; ++seed)
            QCOMPARE(parseRandomPieces(input, seed), expected);
    }

    void stopsAtTheFirstError()
    {
        WsFrameParser parser(MaxMessage);
        Recorder recorder;
        const QByteArray input = frame(P::Text, "a") + frame(0x3, "") + frame(P::Text, "b");
        const qsizetype consumed = parser.feed(input, recorder);
        QCOMPARE(recorder.events, (QByteArrayList {"text:a", "error:1002"}));
        QVERIFY(parser.isFinished());
        QVERIFY(consumed < input.size());
        parser.feed(frame(P::Text, "c"), recorder);
        QCOMPARE(recorder.events.size(), 2);
    }

    void refusesAnOversizedFrameBeforeItsPayload()
    {
        // The header alone decides: nothing of the announced megabyte is waited for.
        WsFrameParser parser(MaxMessage);
        Recorder recorder;
        const QByteArray header = frame(P::Binary, QByteArray(1 << 20, 'x')).first(14);
        parser.feed(header, recorder);
        QCOMPARE(recorder.events, QByteArrayList {"error:1009"});
    }

    void idleOnlyBetweenMessages()
    {
        WsFrameParser parser(MaxMessage);
        Recorder recorder;
        QVERIFY(parser.isIdle());
        parser.feed(frame(P::Text, "a", false), recorder);
        QVERIFY(!parser.isIdle());
        parser.feed(frame(P::Continuation, "b").first(3), recorder);
        QVERIFY(!parser.isIdle());
        parser.feed(frame(P::Continuation, "b").sliced(3), recorder);
        QVERIFY(parser.isIdle());
        QCOMPARE(recorder.events, QByteArrayList {"text:ab"});
    }

    void serverFramesUseTheShortestLength()
    {
        QCOMPARE(P::serverFrame(P::Text, "hi"), QByteArray("\x81\x02hi"));
        QCOMPARE(P::serverFrame(P::Binary, QByteArray(126, 'x')).first(4),
            QByteArray("\x82\x7e\x00\x7e", 4));
        QCOMPARE(P::serverFrame(P::Binary, QByteArray(65536, 'x')).first(10),
            QByteArray("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
        QCOMPARE(P::serverFrame(P::Close, closePayload(1000)), QByteArray("\x88\x02\x03\xe8", 4));
    }

    void utf8AgreesWithQt()
    {
        // Every two-byte and three-byte sequence, against Qt's own decoder.
        for (int a = 0x80; a <= 0xFF; ++a) {
            for (int b = 0; b <= 0xFF; ++b) {
                const QByteArray two = QByteArray(1, char(a)) + char(b);
                const bool qtValid = QString::fromUtf8(two).toUtf8() == two;
                QCOMPARE(Utf8Validator::isValid(two), qtValid);
            }
        }
        for (int a = 0xE0; a <= 0xEF; ++a) {
            for (int b = 0x80; b <= 0xBF; ++b) {
                const QByteArray three = QByteArray(1, char(a)) + char(b) + char(0x80);
                const bool qtValid = QString::fromUtf8(three).toUtf8() == three;
                QCOMPARE(Utf8Validator::isValid(three), qtValid);
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestWsFrameParser)
#include "tst_wsframeparser.moc"
