// Values the OpenAPI document's examples share, each in its real format (ids are KSUIDs).
export const exampleId = '2Qh0MxL7Tq4kJz1cXo9bV3nWdEa';
export const exampleEventId = '2Qh0N4mJ8cYzW1bTq6pVx3rLsKe';
export const exampleOperationId = '2Qh0N9aFv5RtKc3WyLm8pZx1QdB';
export const exampleTimestamp = '2026-11-25T12:00:00.000Z';
