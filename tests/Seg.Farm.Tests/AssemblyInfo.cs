// The farm tests start real coordinator and worker processes on shared RabbitMQ queues: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
