// Broker checks with kafkajs (a pure JavaScript client): topics, produce (gzip and none),
// consume with a consumer group, commits, the admin API's groups, and transactions.
//
// Usage: node kafkajs_clients.js BOOTSTRAP TAG   (with kafkajs resolvable, see scripts/test)
// Prints one line per check and a closing 'N passed, M failed'; exits non-zero on any failure.
'use strict';
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

const [bootstrap, tag] = process.argv.slice(2);
const kafka = new Kafka({ clientId: `kjs-${tag}`, brokers: [bootstrap], logLevel: logLevel.NOTHING });
const RECORDS = 600;
const results = [];

async function check(name, fn) {
  try {
    await fn();
    results.push([name, null]);
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push([name, e]);
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function waitFor(what, fn, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const topic = `kjs-${tag}`;
const group = `kjs-group-${tag}`;

(async () => {
  const admin = kafka.admin();
  await admin.connect();

  await check('kafkajs admin create/list/metadata', async () => {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    const topics = await admin.listTopics();
    assert(topics.includes(topic), `listed: ${topics}`);
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    assert(md.topics[0].partitions.length === 3, JSON.stringify(md));
  });

  await check('kafkajs produce none and gzip', async () => {
    const producer = kafka.producer();
    await producer.connect();
    for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
      const messages = [];
      for (let i = 0; i < RECORDS / 2; i++) {
        const n = compression === CompressionTypes.None ? i : i + RECORDS / 2;
        messages.push({ key: `k${n % 7}`, value: `value-${n}`, headers: { n: String(n) } });
      }
      await producer.send({ topic, compression, messages, acks: -1 });
    }
    await producer.disconnect();
    const offsets = await admin.fetchTopicOffsets(topic);
    const total = offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
    assert(total === RECORDS, `high watermarks sum to ${total}`);
  });

  await check('kafkajs consumer group consume/commit/resume', async () => {
    const seen = new Set();
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, rebalanceTimeout: 10000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const n = Number(message.headers.n.toString());
        assert(message.value.toString() === `value-${n}`, 'value matches header');
        seen.add(n);
      },
    });
    await waitFor('every record', () => seen.size === RECORDS);
    // kafkajs commits on its own schedule; wait until the committed offsets cover everything.
    await waitFor('the commits', async () => {
      const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return committed[0].partitions.reduce((s, p) => s + Number(p.offset), 0) === RECORDS;
    });
    const described = await admin.describeGroups([group]);
    const g = described.groups[0];
    assert(g.state === 'Stable' && g.protocolType === 'consumer', JSON.stringify(g));
    assert(g.members.length === 1 && g.members[0].clientId === `kjs-${tag}`, JSON.stringify(g.members));
    await consumer.disconnect();
  });

  await check('kafkajs admin list/describe/reset/delete groups', async () => {
    const listed = await admin.listGroups();
    assert(listed.groups.some((x) => x.groupId === group), JSON.stringify(listed));
    await waitFor('the group to empty', async () => {
      const d = await admin.describeGroups([group]);
      return d.groups[0].state === 'Empty';
    });
    // kafkajs commits -2 ("earliest") literally, and Kafka stores it as sent.
    await admin.resetOffsets({ groupId: group, topic, earliest: true });
    const reset = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    assert(reset[0].partitions.every((p) => Number(p.offset) === -2), JSON.stringify(reset));
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 1, offset: '5' }] });
    const set = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    assert(Number(set[0].partitions.find((p) => p.partition === 1).offset) === 5, JSON.stringify(set));
    await admin.deleteGroups([group]);
    const after = await admin.listGroups();
    assert(!after.groups.some((x) => x.groupId === group), 'deleted');
  });

  await check('kafkajs transactions: sendOffsets, commit, abort, read_committed', async () => {
    const txTopic = `kjs-txn-${tag}`;
    const txGroup = `kjs-txn-group-${tag}`;
    await admin.createTopics({ topics: [{ topic: txTopic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ transactionalId: `kjs-txn-${tag}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic: txTopic, messages: [0, 1, 2, 3, 4].map((i) => ({ value: `committed-${i}` })) });
    await committed.sendOffsets({ consumerGroupId: txGroup, topics: [{ topic: txTopic, partitions: [{ partition: 0, offset: '5' }] }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic: txTopic, messages: [{ value: 'aborted-0' }, { value: 'aborted-1' }] });
    await aborted.abort();
    const last = await producer.transaction();
    await last.send({ topic: txTopic, messages: [{ value: 'committed-5' }] });
    await last.commit();
    await producer.disconnect();
    const offsets = await admin.fetchOffsets({ groupId: txGroup, topics: [txTopic] });
    assert(Number(offsets[0].partitions[0].offset) === 5, JSON.stringify(offsets));
    // kafkajs reads read_committed unless told otherwise.
    const consumer = kafka.consumer({ groupId: `kjs-txn-reader-${tag}` });
    await consumer.connect();
    await consumer.subscribe({ topic: txTopic, fromBeginning: true });
    const seen = [];
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value.toString()); } });
    await waitFor('the committed records', async () => seen.length >= 6);
    await consumer.disconnect();
    const want = [0, 1, 2, 3, 4, 5].map((i) => `committed-${i}`);
    assert(JSON.stringify(seen) === JSON.stringify(want), `read_committed saw ${JSON.stringify(seen)}`);
  });

  await admin.disconnect();
  const failed = results.filter(([, e]) => e).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL setup: ${e && e.stack ? e.stack : e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
