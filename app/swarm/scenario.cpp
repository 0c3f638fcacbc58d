#include "scenario.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

#include <cmath>

using namespace Qt::StringLiterals;

namespace parley::swarm {

QString stageKindName(Stage::Kind kind)
{
    switch (kind) {
    case Stage::Kind::RampUp:
        return u"ramp-up"_s;
    case Stage::Kind::Steady:
        return u"steady"_s;
    case Stage::Kind::Spike:
        return u"spike"_s;
    case Stage::Kind::Idle:
        return u"idle"_s;
    }
    return {};
}

QString faultKindName(Fault::Kind kind)
{
    switch (kind) {
    case Fault::Kind::Disconnect:
        return u"disconnect"_s;
    case Fault::Kind::StopSending:
        return u"stop-sending"_s;
    case Fault::Kind::ReconnectStorm:
        return u"reconnect-storm"_s;
    }
    return {};
}

double Scenario::duration() const
{
    double total = 0;
    for (const Stage &s : stages)
        total += s.seconds;
    return total;
}

double Scenario::rateAt(double seconds) const
{
    double start = 0;
    double previousRate = 0;
    for (const Stage &s : stages) {
        if (seconds < start + s.seconds) {
            if (s.kind == Stage::Kind::RampUp)
                return previousRate + (s.rate - previousRate) * (seconds - start) / s.seconds;
            return s.rate;
        }
        start += s.seconds;
        previousRate = s.rate;
    }
    return 0;
}

double Scenario::connectSeconds() const
{
    return !stages.isEmpty() && stages.first().kind == Stage::Kind::RampUp ? stages.first().seconds
                                                                           : 0;
}

Scenario defaultScenario(double rate, double durationSeconds, double rampSeconds)
{
    Scenario s;
    s.name = u"default"_s;
    if (rampSeconds > 0)
        s.stages.append({Stage::Kind::RampUp, rampSeconds, rate});
    s.stages.append({Stage::Kind::Steady, durationSeconds, rate});
    return s;
}

namespace {

// Reads one JSON object and remembers the path for messages; unknown keys are errors,
// so a misspelt field never silently falls back to a default.
class Reader
{
public:
    Reader(const QJsonObject &object, QString path, QString *error)
        : m_object(object)
        , m_path(std::move(path))
        , m_error(error)
    { }

    bool failed() const { return !m_error->isEmpty(); }
    bool fail(const QString &field, const QString &why)
    {
        if (m_error->isEmpty())
            *m_error = where(field) + u": "_s + why;
        return false;
    }
    QString where(const QString &field) const
    {
        return m_path.isEmpty() ? field : field.isEmpty() ? m_path : m_path + u'.' + field;
    }
    bool has(const QString &field) const { return m_object.contains(field); }
    QJsonValue value(const QString &field) const { return m_object.value(field); }

    // Fails on keys not in `known`.
    bool only(const QStringList &known)
    {
        for (auto it = m_object.constBegin(); it != m_object.constEnd(); ++it) {
            if (!known.contains(it.key()))
                return fail(
                    it.key(), u"unknown field (expected one of: %1)"_s.arg(known.join(u", "_s)));
        }
        return true;
    }

    double number(const QString &field, double min, double max, double fallback, bool required)
    {
        if (!has(field)) {
            if (required)
                fail(field, u"missing (a number from %1 to %2)"_s.arg(text(min), text(max)));
            return fallback;
        }
        const QJsonValue v = value(field);
        if (!v.isDouble() || !std::isfinite(v.toDouble()) || v.toDouble() < min
            || v.toDouble() > max) {
            fail(field,
                u"expected a number from %1 to %2, got %3"_s.arg(
                    text(min), text(max), describe(v)));
            return fallback;
        }
        return v.toDouble();
    }

    int integer(const QString &field, int min, int max, int fallback)
    {
        const double d = number(field, min, max, fallback, false);
        if (d != std::floor(d))
            fail(field, u"expected a whole number, got %1"_s.arg(d));
        return int(d);
    }

    QString string(const QString &field, const QStringList &choices, bool required)
    {
        if (!has(field)) {
            if (required)
                fail(field, u"missing (one of: %1)"_s.arg(choices.join(u", "_s)));
            return {};
        }
        const QJsonValue v = value(field);
        if (!v.isString() || (!choices.isEmpty() && !choices.contains(v.toString()))) {
            fail(field,
                choices.isEmpty()
                    ? u"expected a string, got %1"_s.arg(describe(v))
                    : u"expected one of %1, got %2"_s.arg(choices.join(u", "_s), describe(v)));
            return {};
        }
        return v.toString();
    }

    static QString text(double number) { return QString::number(number, 'g', 12); }

    static QString describe(const QJsonValue &v)
    {
        switch (v.type()) {
        case QJsonValue::Null:
            return u"null"_s;
        case QJsonValue::Bool:
            return v.toBool() ? u"true"_s : u"false"_s;
        case QJsonValue::Double:
            return text(v.toDouble());
        case QJsonValue::String:
            return u"\""_s + v.toString().left(40) + u"\""_s;
        case QJsonValue::Array:
            return u"an array"_s;
        case QJsonValue::Object:
            return u"an object"_s;
        case QJsonValue::Undefined:
            break;
        }
        return u"nothing"_s;
    }

private:
    QJsonObject m_object;
    QString m_path;
    QString *m_error;
};

constexpr double MaxRate = 1e6;
constexpr double MaxSeconds = 7 * 24 * 3600;

void readPattern(const QJsonValue &value, Scenario &s, QString *error)
{
    const QStringList kinds {u"pairs"_s, u"hubs"_s, u"random"_s};
    QJsonObject object = value.toObject();
    if (value.isString())
        object = QJsonObject {{u"kind"_s, value}};
    else if (!value.isObject()) {
        *error = u"pattern: expected \"pairs\", \"hubs\", \"random\" or an object, got %1"_s.arg(
            Reader::describe(value));
        return;
    }
    Reader r(object, u"pattern"_s, error);
    if (!r.only({u"kind"_s, u"hubs"_s, u"peers"_s}))
        return;
    const QString kind = r.string(u"kind"_s, kinds, true);
    s.pattern.kind = kind == u"hubs"_s ? Pattern::Kind::Hubs
        : kind == u"random"_s          ? Pattern::Kind::Random
                                       : Pattern::Kind::Pairs;
    s.pattern.hubs = r.integer(u"hubs"_s, 1, 1000000, 1);
    s.pattern.peers = r.integer(u"peers"_s, 1, 1024, 3);
}

void readMix(const QJsonValue &value, Scenario &s, QString *error)
{
    if (!value.isObject()) {
        *error = u"mix: expected an object of weights, got %1"_s.arg(Reader::describe(value));
        return;
    }
    Reader r(value.toObject(), u"mix"_s, error);
    if (!r.only({u"send"_s, u"typing"_s, u"history"_s, u"search"_s, u"presence"_s, u"burst"_s,
            u"burst_size"_s}))
        return;
    s.mix.send = r.number(u"send"_s, 0, 1e9, 0, false);
    s.mix.typing = r.number(u"typing"_s, 0, 1e9, 0, false);
    s.mix.history = r.number(u"history"_s, 0, 1e9, 0, false);
    s.mix.search = r.number(u"search"_s, 0, 1e9, 0, false);
    s.mix.presence = r.number(u"presence"_s, 0, 1e9, 0, false);
    s.mix.burst = r.number(u"burst"_s, 0, 1e9, 0, false);
    s.mix.burstSize = r.integer(u"burst_size"_s, 2, 10000, 50);
    if (!r.failed() && s.mix.total() <= 0)
        r.fail({}, u"at least one weight must be above 0"_s);
}

void readStages(const QJsonValue &value, double defaultRate, Scenario &s, QString *error)
{
    if (!value.isArray() || value.toArray().isEmpty()) {
        *error = u"stages: expected a non-empty array of stages, got %1"_s.arg(
            Reader::describe(value));
        return;
    }
    const QStringList kinds {u"ramp-up"_s, u"steady"_s, u"spike"_s, u"idle"_s};
    const QJsonArray array = value.toArray();
    for (qsizetype i = 0; i < array.size() && error->isEmpty(); ++i) {
        const QString path = u"stages[%1]"_s.arg(i);
        if (!array.at(i).isObject()) {
            *error = path + u": expected an object, got "_s + Reader::describe(array.at(i));
            return;
        }
        Reader r(array.at(i).toObject(), path, error);
        if (!r.only({u"kind"_s, u"seconds"_s, u"rate"_s}))
            return;
        Stage stage;
        const QString kind = r.string(u"kind"_s, kinds, true);
        stage.kind = Stage::Kind(std::max<qsizetype>(0, kinds.indexOf(kind)));
        stage.seconds = r.number(u"seconds"_s, 0.001, MaxSeconds, 0, true);
        if (stage.kind == Stage::Kind::Idle) {
            if (r.has(u"rate"_s) && r.number(u"rate"_s, 0, 0, 0, false) != 0)
                return;
        } else if (!r.has(u"rate"_s) && defaultRate <= 0) {
            r.fail(u"rate"_s, u"missing, and no --rate was given"_s);
        } else {
            stage.rate = r.number(u"rate"_s, 0, MaxRate, defaultRate, false);
        }
        s.stages.append(stage);
    }
}

void readFaults(const QJsonValue &value, Scenario &s, QString *error)
{
    if (!value.isArray()) {
        *error = u"faults: expected an array, got %1"_s.arg(Reader::describe(value));
        return;
    }
    const QStringList kinds {u"disconnect"_s, u"stop-sending"_s, u"reconnect-storm"_s};
    const QJsonArray array = value.toArray();
    for (qsizetype i = 0; i < array.size() && error->isEmpty(); ++i) {
        const QString path = u"faults[%1]"_s.arg(i);
        if (!array.at(i).isObject()) {
            *error = path + u": expected an object, got "_s + Reader::describe(array.at(i));
            return;
        }
        Reader r(array.at(i).toObject(), path, error);
        if (!r.only({u"kind"_s, u"at"_s, u"percent"_s, u"seconds"_s}))
            return;
        Fault fault;
        const QString kind = r.string(u"kind"_s, kinds, true);
        fault.kind = Fault::Kind(std::max<qsizetype>(0, kinds.indexOf(kind)));
        fault.at = r.number(u"at"_s, 0, MaxSeconds, 0, true);
        fault.percent = r.number(u"percent"_s, 0, 100, 0, true);
        if (fault.kind == Fault::Kind::ReconnectStorm) {
            if (r.has(u"seconds"_s))
                r.fail(u"seconds"_s, u"a reconnect storm is instant; leave 'seconds' out"_s);
        } else {
            fault.seconds = r.number(u"seconds"_s, 0.001, MaxSeconds, 0, true);
        }
        s.faults.append(fault);
    }
}

// "file:LINE:COLUMN" of a byte offset, for syntax errors.
QString position(const QByteArray &json, qsizetype offset)
{
    int line = 1;
    int column = 1;
    for (qsizetype i = 0; i < std::min(offset, json.size()); ++i) {
        if (json.at(i) == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return u"%1:%2"_s.arg(line).arg(column);
}

} // namespace

std::optional<Scenario> parseScenario(
    const QByteArray &json, const QString &fileName, double defaultRate, QString *error)
{
    error->clear();
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        *error = u"%1:%2: not valid JSON: %3"_s.arg(
            fileName, position(json, parseError.offset), parseError.errorString());
        return std::nullopt;
    }
    if (!document.isObject()) {
        *error = fileName + u": expected a JSON object at the top"_s;
        return std::nullopt;
    }
    Scenario s;
    QString problem;
    Reader r(document.object(), {}, &problem);
    if (r.only({u"name"_s, u"seed"_s, u"devices"_s, u"body_chars"_s, u"pattern"_s, u"mix"_s,
            u"stages"_s, u"faults"_s})) {
        s.name = r.has(u"name"_s) ? r.string(u"name"_s, {}, false) : fileName;
        s.seed = quint32(r.number(u"seed"_s, 0, 4294967295.0, 1, false));
        s.devices = r.integer(u"devices"_s, 1, 16, 1);
        s.bodyChars = r.integer(u"body_chars"_s, 24, 4000, 32);
        if (problem.isEmpty() && r.has(u"pattern"_s))
            readPattern(r.value(u"pattern"_s), s, &problem);
        if (problem.isEmpty() && r.has(u"mix"_s))
            readMix(r.value(u"mix"_s), s, &problem);
        if (problem.isEmpty()) {
            if (!r.has(u"stages"_s))
                problem = u"stages: missing (an array of {kind, seconds, rate})"_s;
            else
                readStages(r.value(u"stages"_s), defaultRate, s, &problem);
        }
        if (problem.isEmpty() && r.has(u"faults"_s))
            readFaults(r.value(u"faults"_s), s, &problem);
    }
    if (problem.isEmpty()) {
        for (qsizetype i = 0; i < s.faults.size(); ++i) {
            if (s.faults.at(i).at >= s.duration())
                problem = u"faults[%1].at: %2 s is past the end of the stages (%3 s)"_s.arg(i)
                              .arg(s.faults.at(i).at)
                              .arg(s.duration());
        }
    }
    if (!problem.isEmpty()) {
        *error = fileName + u": "_s + problem;
        return std::nullopt;
    }
    return s;
}

} // namespace parley::swarm
