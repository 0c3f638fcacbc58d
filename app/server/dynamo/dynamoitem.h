// DynamoDB's typed JSON values ({"S": "..."}, {"N": "42"}, {"B": base64}, {"BOOL": true})
// as small helpers, so item shapes read like the table design in docs/dynamodb.md.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <optional>

namespace parley::server::dynamo {

inline QJsonObject string(const QString &value)
{
    return {{QStringLiteral("S"), value}};
}

inline QJsonObject number(qint64 value)
{
    return {{QStringLiteral("N"), QString::number(value)}};
}

inline QJsonObject binary(const QByteArray &value)
{
    return {{QStringLiteral("B"), QString::fromLatin1(value.toBase64())}};
}

inline QJsonObject boolean(bool value)
{
    return {{QStringLiteral("BOOL"), value}};
}

inline QString stringOf(const QJsonObject &item, const QString &name)
{
    return item.value(name).toObject().value(QStringLiteral("S")).toString();
}

inline std::optional<qint64> optionalNumberOf(const QJsonObject &item, const QString &name)
{
    const QJsonValue value = item.value(name).toObject().value(QStringLiteral("N"));
    if (!value.isString())
        return std::nullopt;
    bool ok = false;
    const qint64 number = value.toString().toLongLong(&ok);
    return ok ? std::optional<qint64>(number) : std::nullopt;
}

inline qint64 numberOf(const QJsonObject &item, const QString &name)
{
    return optionalNumberOf(item, name).value_or(0);
}

inline QByteArray binaryOf(const QJsonObject &item, const QString &name)
{
    return QByteArray::fromBase64(
        item.value(name).toObject().value(QStringLiteral("B")).toString().toLatin1());
}

inline bool booleanOf(const QJsonObject &item, const QString &name)
{
    return item.value(name).toObject().value(QStringLiteral("BOOL")).toBool();
}

} // namespace parley::server::dynamo
