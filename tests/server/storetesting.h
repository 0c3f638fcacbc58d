// Shared by the store tests: Store callbacks run on the store's own thread, so a test
// waits for one through a promise.
#pragma once

#include "store.h"

#include <chrono>
#include <future>
#include <memory>

namespace parley::server::testing {

// Starts an operation with a callback and waits (at most `limit`) for its result.
template<typename T, typename Start>
Result<T> await(Start &&start, std::chrono::seconds limit = std::chrono::seconds(60))
{
    auto promise = std::make_shared<std::promise<Result<T>>>();
    std::future<Result<T>> future = promise->get_future();
    start(Callback<T>([promise](Result<T> result) { promise->set_value(std::move(result)); }));
    if (future.wait_for(limit) != std::future_status::ready)
        return Result<T>::failure(
            StoreError::Code::Internal, QStringLiteral("timed out waiting for the store"));
    return future.get();
}

} // namespace parley::server::testing
