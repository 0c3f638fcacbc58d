// One device of one virtual user: a real client-core Client (in-memory credentials and
// cache) driven by the worker, reporting every send, ack, delivery, receipt and error
// to the worker's metrics and the run's verifier.
#pragma once

#include "client.h"
#include "credentialstore.h"

#include <QHash>
#include <QMap>
#include <QObject>

namespace parley::swarm {

class Worker;

class VirtualDevice : public QObject
{
    Q_OBJECT
public:
    VirtualDevice(Worker *worker, int user, int device, QObject *parent = nullptr);

    int user() const { return m_user; }
    int deviceIndex() const { return m_deviceIndex; }
    QString id() const { return m_id; }
    client::Client *client() const { return m_client; }

    // Registers (the first device) or logs in (the others); latency from intendedUs.
    void signIn(qint64 intendedUs);
    void send(int peer, qint64 intendedUs);
    void typing(int peer);
    void history(int peer, qint64 intendedUs);
    void search(qint64 intendedUs);
    void watch(const QStringList &users);
    // Faults (on devices that have signed in): go offline until reconnect(); or drop the
    // link and come straight back.
    void disconnect();
    void reconnect();
    void dropLink();

private:
    void onStateChanged(client::ConnectionState state);
    void onMessageAdded(const client::ChatMessage &message);
    void onMessageChanged(const client::ChatMessage &message);
    void onConversationChanged(const client::ConversationInfo &info);
    void onFrame(const protocol::ServerFrame &frame);
    QString peerName(int peer) const;

    Worker *m_worker;
    int m_user;
    int m_deviceIndex;
    QString m_name;
    QString m_id; // "name/dN"
    client::MemoryCredentialStore m_credentials;
    client::Client *m_client;
    qint64 m_connectIntendedUs = 0;
    bool m_online = false;
    bool m_dropping = false; // a fault took the link down on purpose
    bool m_signedIn = false; // welcomed at least once
    bool m_signingIn = false; // the first sign-in is under way
    bool m_loggingInInstead = false; // registering found the user already made by us
    bool m_faultOffline = false; // disconnected by a fault, waiting for reconnect()
    QHash<QString, qint64> m_inflight; // cid -> intended us, until acked
    QHash<QString, QMap<qint64, qint64>> m_awaitingReceipt; // conv -> seq -> intended us
    QHash<QString, qint64> m_requests; // rid of a history/search request -> intended us
    quint64 m_nextRid = 0;
};

} // namespace parley::swarm
