// bench/spark/jobs.scala: the Spark Streaming side of bench/spark.ts in Scala, Spark's
// best case (no Python workers), the same jobs as bench/spark/jobs.py.
//   JOB=wordcount BATCH_DIR=... BATCHES=10 INTERVAL_MS=2000 RESULT=r.json \
//     spark-shell --master local[2] -i bench/spark/jobs.scala
// Each batch's processing time is measured inside foreachRDD around rdd.count().
import org.apache.spark.streaming.{Milliseconds, Seconds, StreamingContext}
import org.apache.spark.rdd.RDD
import scala.collection.mutable
import java.io.{File, PrintWriter}

val job = sys.env("JOB")
val batchDir = sys.env("BATCH_DIR")
val batches = sys.env("BATCHES").toInt
val intervalMs = sys.env("INTERVAL_MS").toLong
val result = sys.env("RESULT")

sc.setLogLevel("ERROR")
val ssc = new StreamingContext(sc, Milliseconds(intervalMs))
ssc.checkpoint(new File(batchDir, "checkpoint-scala-" + job).getPath)
val files = new File(batchDir).listFiles.map(_.getName).filter(_.startsWith("batch-")).sorted.take(batches)
val queue = mutable.Queue[RDD[String]](files.map(f => sc.textFile(new File(batchDir, f).getPath, 2)): _*)
val pairs = ssc.queueStream(queue, oneAtATime = true).flatMap(_.split(" ")).map(w => (w, 1L))
val out = job match {
  case "wordcount" => pairs.reduceByKey(_ + _, 2)
  case "window" => pairs.reduceByKeyAndWindow(_ + _, _ - _, Seconds(30), Seconds(1), 2)
  case "state" => pairs.updateStateByKey((values: Seq[Long], count: Option[Long]) => Some(count.getOrElse(0L) + values.sum))
}
val done = mutable.ArrayBuffer[String]()
out.foreachRDD { (rdd, t) =>
  val start = System.nanoTime
  val n = rdd.count()
  done.synchronized { done += s"""{"time":${t.milliseconds},"ms":${(System.nanoTime - start) / 1e6},"count":$n}""" }
}
val started = System.nanoTime
ssc.start()
while (done.synchronized(done.size) < files.length) ssc.awaitTerminationOrTimeout(200)
val wallMs = (System.nanoTime - started) / 1e6
ssc.stop(stopSparkContext = false, stopGracefully = false)
val w = new PrintWriter(result)
w.write(s"""{"batches":[${done.mkString(",")}],"wall_ms":$wallMs,"spark":"${sc.version}","scala":"${util.Properties.versionNumberString}"}""")
w.close()
sc.stop()
System.exit(0)
