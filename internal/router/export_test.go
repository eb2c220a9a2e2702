package router

// ConsumerName is the durable consumer of the bus streams, for the tests
// that read how far the router has acknowledged a bus.
const ConsumerName = consumerName
