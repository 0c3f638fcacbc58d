// One logical link to a Parley server: a QWebSocket that is reopened for as long as
// the user wants to be online. It owns the state machine, the hello/sign-in exchange,
// reconnects with backoff, liveness pings and the TLS policy; it knows nothing of
// messages beyond framing.
//
//   Offline --open()--> Connecting --hello--> Authenticating --welcome--> Online
//      ^                    |                       |                        |
//      |                    +------ link lost / transient error -------------+--> Backoff
//      +-- close(), or the sign-in was refused for good (authenticationFailed) --+
//   Backoff --timer, reconnectNow(), network back, wake from sleep--> Connecting
#pragma once

#include "backoff.h"
#include "frames.h"

#include <QAbstractSocket>
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QSslError>
#include <QTimer>
#include <QUrl>

class QWebSocket;

namespace parley::client {

Q_NAMESPACE
enum class ConnectionState { Offline, Connecting, Authenticating, Online, Backoff };
Q_ENUM_NS(ConnectionState)
QString connectionStateName(ConnectionState state);

// What to send once the server's hello arrives.
struct SignIn
{
    enum class Kind { Register, Login, Resume };
    Kind kind = Kind::Resume;
    QString user;
    QString password; // Register / Login
    QString token; // Resume
    QString device = QStringLiteral("default");
};

struct ConnectionOptions
{
    BackoffPolicy backoff;
    int pingIntervalMs = 5000; // a WebSocket ping this often while connected
    int deadAfterMs = 15000; // no pong or frame for this long: the link is dead
    int connectTimeoutMs = 15000; // TCP + TLS + upgrade + hello
    // Wall clock jumping ahead of the monotonic clock by more than this means the
    // machine slept: reconnect at once.
    int sleepDetectMs = 10000;
    bool watchNetwork = true; // follow QNetworkInformation reachability
};

class Connection : public QObject
{
    Q_OBJECT
    Q_PROPERTY(parley::client::ConnectionState state READ state NOTIFY stateChanged)

public:
    using Options = ConnectionOptions;

    explicit Connection(Options options = {}, QObject *parent = nullptr);
    ~Connection() override;

    // wss:// always; ws:// only to a loopback host (anything else is refused by open()
    // with errorOccurred). pinnedSha256: the SHA-256 of a certificate (DER) the user
    // chose to trust for this server although the system CA store does not.
    void setServer(const QUrl &url, const QByteArray &pinnedSha256 = {});
    QUrl server() const { return m_url; }
    // Replaced by Resume with the new token after each welcome.
    void setSignIn(const SignIn &signIn);

    void open(); // go online and stay there (reconnecting) until close()
    void close(); // Offline, no reconnect
    void reconnectNow(); // skip the rest of a backoff (or drop a link that seems stuck)

    // Sends a request when Online (or, for anything, when Authenticating, after the
    // sign-in frame). False when not connected: the caller keeps it for later.
    bool send(const protocol::ClientFrame &frame);

    ConnectionState state() const { return m_state; }
    const protocol::Hello &hello() const { return m_hello; }
    // Milliseconds until the next attempt while in Backoff, else -1.
    qint64 backoffRemainingMs() const;

Q_SIGNALS:
    void stateChanged(parley::client::ConnectionState state);
    void welcomed(const parley::protocol::Welcome &welcome); // state is Online
    // Every frame after the welcome (replies and pushes), in arrival order.
    void frameReceived(const parley::protocol::ServerFrame &frame);
    // The server refused the sign-in for good (auth_failed, user_exists, an expired or
    // revoked token, bad_request): state is Offline and nothing reconnects until the
    // user signs in again.
    void authenticationFailed(const parley::protocol::Error &error);
    // The server's certificate is not trusted; state is Offline. certSha256 is the
    // fingerprint to show the user and to pass to setServer() if they trust it.
    void untrustedCertificate(const QList<QSslError> &errors, const QByteArray &certSha256);
    // A human-readable reason each time a link is lost or refused (for a banner/log).
    void errorOccurred(const QString &message);
    // An attempt failed before the server's hello, with a short code for counting and the
    // reason that names the cause (also sent as errorOccurred):
    //   connect.host_not_found  the host name does not resolve
    //   connect.refused         nothing listens on that port
    //   connect.timeout         no answer within connectTimeoutMs
    //   connect.tls             the TLS handshake failed (certificates: untrustedCertificate)
    //   connect.http_NNN        an HTTP answer other than the upgrade (404: wrong path)
    //   connect.not_parley      a WebSocket server that does not speak the Parley protocol
    //   connect.lost            the link dropped during the handshake
    void connectFailed(const QString &code, const QString &reason);

private:
    void setState(ConnectionState state);
    void startAttempt();
    void linkLost(const QString &reason);
    // As above; the next attempt waits at least minDelayMs (the server's retryAfterMs).
    void linkLost(const QString &reason, qint64 minDelayMs, LinkEnd end = LinkEnd::Lost);
    void onTextMessage(const QString &text);
    void onTick();
    void onSignInReply(const protocol::ServerFrame &frame);
    void onSslErrors(const QList<QSslError> &errors);
    void onSocketGone();
    // Code and reason of an attempt that ends before the hello (see connectFailed).
    std::pair<QString, QString> classifyConnectFailure() const;
    void watchNetwork();
    enum class SocketEnd { Close, Abort };
    void dropSocket(SocketEnd end);
    qint64 nowMs() const { return m_monotonic.elapsed(); }

    Options m_options;
    Backoff m_backoff;
    QUrl m_url;
    QByteArray m_pinnedSha256;
    SignIn m_signIn;
    ConnectionState m_state = ConnectionState::Offline;
    bool m_wanted = false; // open() called and not close()d
    QPointer<QWebSocket> m_socket;
    QAbstractSocket::SocketError m_socketError = QAbstractSocket::UnknownSocketError;
    protocol::Hello m_hello;
    QTimer m_backoffTimer;
    QTimer m_tick; // liveness, connect timeout and sleep detection
    QElapsedTimer m_monotonic;
    qint64 m_lastSignOfLifeMs = 0;
    qint64 m_lastPingMs = 0;
    qint64 m_attemptStartedMs = 0;
    qint64 m_lastTickMonoMs = 0;
    qint64 m_lastTickWallMs = 0;
};

} // namespace parley::client
