// The service's name, held in one place: it forms the API root (/api/rh-trex), the error code prefix
// (rh-trex-7) and the log field `service`. `trex clone --name` rewrites this line.
export const serviceName = 'rh-trex';

export const apiRoot = `/api/${serviceName}`;
export const apiBase = `${apiRoot}/v1`;
