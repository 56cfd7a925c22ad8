export * from './config';
export * from './protocol';
export * from './socket';
export * from './ui';
export * from './live';
