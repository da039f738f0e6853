// A small Query model with the botocore traits ELBv2 does not use (list member names, flattened lists and
// maps, renamed members and map keys), for the Query codec's tests. Not part of the build.
import type { ServiceModel } from './model-types.js';

export const XML_MODEL: ServiceModel = {
  metadata: { apiVersion: '2020-01-01', protocol: 'query', xmlNamespace: 'urn:test', endpointPrefix: 'test', serviceId: 'Test', uid: 'test-2020-01-01' },
  operations: { Put: { input: 'PutInput', output: 'PutOutput', resultWrapper: 'PutResult', errors: [] } },
  shapes: {
    PutInput: { type: 'structure', members: { Names: 'NamedList', Flat: 'FlatList', FlatNamed: 'FlatNamedList', Attrs: 'Attrs', FlatAttrs: 'FlatMap', Renamed: 'Str', When: 'Time', Data: 'Bytes', Ratio: 'Dbl', Big: 'Lng' }, memberTraits: { Renamed: { locationName: 'OtherName' }, FlatAttrs: { flattened: true } } },
    PutOutput: { type: 'structure', members: { Names: 'NamedList', Flat: 'FlatList', FlatNamed: 'FlatNamedList', Attrs: 'Attrs', When: 'Time', Renamed: 'Str' }, memberTraits: { Renamed: { locationName: 'OtherName' } } },
    NamedList: { type: 'list', member: 'Str', memberLocationName: 'Name' },
    FlatList: { type: 'list', member: 'Str', flattened: true },
    FlatNamedList: { type: 'list', member: 'Str', flattened: true, memberLocationName: 'Item' },
    Attrs: { type: 'map', key: 'Str', value: 'Str', keyLocationName: 'K', valueLocationName: 'V' },
    FlatMap: { type: 'map', key: 'Str', value: 'Lng' },
    Str: { type: 'string' },
    Time: { type: 'timestamp' },
    Bytes: { type: 'blob' },
    Dbl: { type: 'double' },
    Lng: { type: 'long' },
  },
};
