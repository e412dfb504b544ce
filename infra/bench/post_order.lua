-- wrk: POST /orders as the buyer whose token is $TOKEN, for $SERVICE, with
-- no Idempotency-Key (each request is a new order).
wrk.method = "POST"
wrk.body = '{"service_id":"' .. os.getenv("SERVICE") .. '"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
