# bench/spark/jobs.py: the Spark Streaming side of bench/spark.ts, in PySpark.
#   spark-submit --master local[2] bench/spark/jobs.py JOB BATCH_DIR BATCHES INTERVAL_S RESULT.json
# JOB is wordcount, window (30 s window, 1 s slide, with inverse) or state
# (updateStateByKey). BATCH_DIR holds batch-0000.txt ... one file of lines per batch;
# each becomes one RDD of a queueStream (one RDD a batch interval), read with
# sc.textFile in 2 partitions, so that reading the lines is part of every batch's
# work as it is for dstream. Each batch's processing time is measured inside
# foreachRDD around the action (rdd.count()), which is when Spark runs the batch's
# job; PySpark has no StreamingListener. RESULT.json gets one {time, ms, count} a batch.
import json
import sys
import time
import os
from operator import add, sub

from pyspark import SparkConf, SparkContext
from pyspark.streaming import StreamingContext

job, batch_dir, batches, interval, result = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]

conf = SparkConf().setMaster('local[2]').setAppName('dstream-bench-' + job).set('spark.ui.showConsoleProgress', 'false')
sc = SparkContext(conf=conf)
sc.setLogLevel('ERROR')
ssc = StreamingContext(sc, interval)
ssc.checkpoint(os.path.join(batch_dir, 'checkpoint-py-' + job))

files = sorted(f for f in os.listdir(batch_dir) if f.startswith('batch-'))[:batches]
rdds = [sc.textFile(os.path.join(batch_dir, f), 2) for f in files]
lines = ssc.queueStream(rdds, oneAtATime=True)
pairs = lines.flatMap(lambda l: l.split(' ')).map(lambda w: (w, 1))

if job == 'wordcount':
    out = pairs.reduceByKey(add, 2)
elif job == 'window':
    out = pairs.reduceByKeyAndWindow(add, sub, 30, 1, 2)
elif job == 'state':
    out = pairs.updateStateByKey(lambda values, count: (count or 0) + sum(values), 2)
else:
    raise SystemExit('unknown job ' + job)

done = []


def measure(t, rdd):
    start = time.perf_counter()
    n = rdd.count()
    done.append({'time': t.timestamp() * 1000, 'ms': (time.perf_counter() - start) * 1000, 'count': n})


out.foreachRDD(measure)
version = sc.version
started = time.perf_counter()
ssc.start()
while len(done) < len(files):
    ssc.awaitTerminationOrTimeout(0.2)
wall = time.perf_counter() - started
ssc.stop(stopSparkContext=True, stopGraceFully=False)
with open(result, 'w') as f:
    json.dump({'batches': done, 'wall_ms': wall * 1000, 'spark': version, 'python': sys.version.split()[0]}, f)
